//! The wgpu backend: one device, one compute pipeline per kernel, and every dispatch sized to fit
//! the device's limits.
//!
//! Buffers are created per band and read back when the band is done: the stage drivers in
//! `stages.rs` cut the work into bands that fit [`Gpu::max_binding_bytes`] and
//! [`Gpu::max_invocations`], which come from `device.limits()`.

mod render;
mod timing;

use std::sync::{Arc, Mutex, mpsc};

use wgpu::util::DeviceExt;

use crate::error::{EngineError, Result};
use crate::kernels::{KERNELS, Kernel, WORKGROUP_SIZE};

/// Caps on the device's limits, lower than the adapter's, to exercise tiling in tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuLimits {
    /// Largest buffer (and storage binding) in bytes.
    pub max_buffer_bytes: u64,
    /// Largest dispatch along one dimension, in workgroups.
    pub max_workgroups_per_dimension: u32,
}

/// What `lithos info` shows of an adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A discrete, integrated or virtual GPU, rather than a software rasteriser.
    pub hardware: bool,
}

impl AdapterSummary {
    fn new(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            backend: info.backend.to_string(),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_owned(),
            hardware: is_hardware(info.device_type),
        }
    }
}

fn is_hardware(device_type: wgpu::DeviceType) -> bool {
    matches!(
        device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// Preference order when more than one adapter is present.
fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn adapters() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    adapters
}

/// Every adapter wgpu finds, best first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters().iter().map(|a| AdapterSummary::new(&a.get_info())).collect()
}

/// The GPU backend.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    pipelines: Vec<(&'static str, wgpu::ComputePipeline)>,
    errors: Arc<Mutex<Vec<String>>>,
    /// Kernel times, where the adapter has timestamp queries.
    timing: Option<timing::Timing>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("adapter", &self.summary.name).finish_non_exhaustive()
    }
}

impl Gpu {
    /// Opens the best adapter; with `hardware_only`, software adapters (lavapipe) do not count.
    /// `None` when there is no suitable adapter.
    pub fn open(hardware_only: bool, caps: Option<GpuLimits>) -> Result<Option<Self>> {
        let Some(adapter) = adapters()
            .into_iter()
            .find(|a| !hardware_only || is_hardware(a.get_info().device_type))
        else {
            return Ok(None);
        };
        let mut limits = adapter.limits();
        if let Some(caps) = caps {
            limits.max_buffer_size = limits.max_buffer_size.min(caps.max_buffer_bytes);
            limits.max_storage_buffer_binding_size = limits
                .max_storage_buffer_binding_size
                .min(caps.max_buffer_bytes.min(u64::from(u32::MAX)) as _);
            limits.max_compute_workgroups_per_dimension =
                limits.max_compute_workgroups_per_dimension.min(caps.max_workgroups_per_dimension);
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("lithos"),
            required_limits: limits,
            required_features: timing::Timing::features(&adapter),
            ..Default::default()
        }))
        .map_err(|e| EngineError::Gpu(format!("cannot open the GPU device: {e}")))?;

        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string());
        }));

        let pipelines = KERNELS
            .iter()
            .map(|kernel| {
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.name),
                    source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
                });
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(kernel.name),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (kernel.name, pipeline)
            })
            .collect();
        let timing = timing::Timing::new(&device, &queue);
        let gpu = Self {
            device,
            queue,
            summary: AdapterSummary::new(&adapter.get_info()),
            pipelines,
            errors,
            timing,
        };
        gpu.check_errors()?;
        Ok(Some(gpu))
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// Seconds per kernel (and `thumbnail` for the render pass) since the last call, from
    /// timestamp queries; empty when the adapter has none.
    pub fn take_kernel_times(&self) -> Result<Vec<(&'static str, f64)>> {
        match &self.timing {
            Some(timing) => timing.take(&self.device, &self.queue),
            None => Ok(Vec::new()),
        }
    }

    /// Encodes one compute pass of `kernel` over `count` invocations, timed where the adapter
    /// can time passes; the claim on its timestamps is held until the encoder is submitted.
    fn encode_pass(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: &Kernel,
        bind_group: &wgpu::BindGroup,
        count: u32,
    ) -> Result<Option<timing::Claim<'_>>> {
        let claim = self.claim(kernel.name)?;
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(kernel.name),
            timestamp_writes: claim.as_ref().map(|c| c.compute()),
        });
        pass.set_pipeline(self.pipeline(kernel));
        pass.set_bind_group(0, bind_group, &[]);
        let max = self.device.limits().max_compute_workgroups_per_dimension;
        let (x, y) = dispatch_size(count, max);
        pass.dispatch_workgroups(x, y, 1);
        drop(pass);
        Ok(claim)
    }

    /// A timed pass of `kernel`, where the adapter can time passes.
    fn claim(&self, kernel: &'static str) -> Result<Option<timing::Claim<'_>>> {
        self.timing.as_ref().map(|t| t.claim(&self.device, &self.queue, kernel)).transpose()
    }

    /// The largest buffer any one binding may have.
    pub fn max_binding_bytes(&self) -> u64 {
        let limits = self.device.limits();
        limits.max_buffer_size.min(limits.max_storage_buffer_binding_size)
    }

    /// The most invocations one dispatch may run.
    pub fn max_invocations(&self) -> u64 {
        let per_dimension = u64::from(self.device.limits().max_compute_workgroups_per_dimension);
        per_dimension * per_dimension * u64::from(WORKGROUP_SIZE)
    }

    fn check_errors(&self) -> Result<()> {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.is_empty() {
            return Ok(());
        }
        let message = errors.join("; ");
        errors.clear();
        Err(EngineError::Gpu(message))
    }

    /// Runs `kernel` over `count` invocations with a uniform `config`, storage `inputs` and
    /// storage outputs of the given sizes in bytes, then hands the outputs to `read`.
    pub fn run<R>(
        &self,
        kernel: &Kernel,
        config: &[u8],
        count: u32,
        inputs: &[&[u8]],
        outputs: &[u64],
        read: impl FnOnce(&[&[u8]]) -> R,
    ) -> Result<R> {
        let pipeline = self.pipeline(kernel);
        let device = &self.device;
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("config"),
            contents: config,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        // Bindings may not be empty; an unused input gets one zero word.
        let input_buffers: Vec<wgpu::Buffer> = inputs
            .iter()
            .map(|data| {
                let contents: &[u8] = if data.is_empty() { &[0; 4] } else { data };
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("input"),
                    contents,
                    usage: wgpu::BufferUsages::STORAGE,
                })
            })
            .collect();
        let output_sizes: Vec<u64> =
            outputs.iter().map(|&size| size.max(4).next_multiple_of(4)).collect();
        let output_buffers: Vec<wgpu::Buffer> = output_sizes
            .iter()
            .map(|&size| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("output"),
                    size,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let staging: Vec<wgpu::Buffer> = output_sizes
            .iter()
            .map(|&size| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("readback"),
                    size,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();

        let entries: Vec<wgpu::BindGroupEntry<'_>> = std::iter::once(&uniform)
            .chain(&input_buffers)
            .chain(&output_buffers)
            .enumerate()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: binding as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });

        let mut encoder = device.create_command_encoder(&Default::default());
        let claim = self.encode_pass(&mut encoder, kernel, &bind_group, count)?;
        for ((output, staging), &size) in output_buffers.iter().zip(&staging).zip(&output_sizes) {
            encoder.copy_buffer_to_buffer(output, 0, staging, 0, size);
        }
        self.queue.submit([encoder.finish()]);
        drop(claim);

        let (tx, rx) = mpsc::channel();
        for buffer in &staging {
            let tx = tx.clone();
            buffer.map_async(wgpu::MapMode::Read, .., move |result| {
                let _ = tx.send(result);
            });
        }
        drop(tx);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| EngineError::Gpu(format!("waiting for the GPU failed: {e}")))?;
        self.check_errors()?;
        for result in rx.iter() {
            result.map_err(|e| EngineError::Gpu(format!("reading results back failed: {e}")))?;
        }
        let views = staging
            .iter()
            .zip(outputs)
            .map(|(buffer, &size)| buffer.get_mapped_range(..size.max(4)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Gpu(format!("mapping results failed: {e}")))?;
        let slices: Vec<&[u8]> =
            views.iter().zip(outputs).map(|(view, &size)| &view[..size as usize]).collect();
        let result = read(&slices);
        drop(slices);
        drop(views);
        for buffer in &staging {
            buffer.unmap();
        }
        Ok(result)
    }
}

/// A buffer that stays on the device between dispatches.
#[derive(Debug)]
pub struct DeviceBuffer {
    buffer: wgpu::Buffer,
}

impl DeviceBuffer {
    pub fn size(&self) -> u64 {
        self.buffer.size()
    }
}

impl Gpu {
    /// A storage buffer holding `data` (one zero word when `data` is empty).
    pub fn upload(&self, data: &[u8]) -> DeviceBuffer {
        let contents: &[u8] = if data.is_empty() { &[0; 4] } else { data };
        let buffer = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("resident"),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        DeviceBuffer { buffer }
    }

    /// A zeroed storage buffer of at least `size` bytes, rounded up to whole words.
    pub fn zeroed(&self, size: u64) -> Result<DeviceBuffer> {
        let size = size.max(4).next_multiple_of(4);
        if size > self.max_binding_bytes() {
            return Err(EngineError::Gpu(format!(
                "a {size}-byte buffer exceeds the device's {}-byte binding limit",
                self.max_binding_bytes()
            )));
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("resident"),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Ok(DeviceBuffer { buffer })
    }

    /// Queues `kernel` over `count` invocations with `config` at binding 0 and `buffers`
    /// bound in order after it. Work runs in submission order; [`Gpu::download`] waits for it.
    pub fn dispatch(
        &self,
        kernel: &Kernel,
        config: &[u8],
        count: u32,
        buffers: &[&DeviceBuffer],
    ) -> Result<()> {
        let pipeline = self.pipeline(kernel);
        let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("config"),
            contents: config,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let entries: Vec<wgpu::BindGroupEntry<'_>> = std::iter::once(&uniform)
            .chain(buffers.iter().map(|b| &b.buffer))
            .enumerate()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: binding as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let claim = self.encode_pass(&mut encoder, kernel, &bind_group, count)?;
        self.queue.submit([encoder.finish()]);
        drop(claim);
        self.check_errors()
    }

    /// Waits for queued work and copies `size` bytes from `offset` of `buffer` back.
    pub fn download(&self, buffer: &DeviceBuffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        let padded = size.max(4).next_multiple_of(4);
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: padded,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&buffer.buffer, offset, &staging, 0, padded);
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = tx.send(result);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| EngineError::Gpu(format!("waiting for the GPU failed: {e}")))?;
        self.check_errors()?;
        rx.recv()
            .map_err(|_| EngineError::Gpu("the read-back was dropped".into()))?
            .map_err(|e| EngineError::Gpu(format!("reading results back failed: {e}")))?;
        let view = staging
            .get_mapped_range(..padded)
            .map_err(|e| EngineError::Gpu(format!("mapping results failed: {e}")))?;
        let bytes = view[..size as usize].to_vec();
        drop(view);
        staging.unmap();
        Ok(bytes)
    }

    fn pipeline(&self, kernel: &Kernel) -> &wgpu::ComputePipeline {
        &self
            .pipelines
            .iter()
            .find(|(name, _)| *name == kernel.name)
            .expect("every kernel in KERNELS has a pipeline")
            .1
    }
}

/// Folds `count` invocations into an `x` by `y` grid of workgroups, each side within `max`.
pub fn dispatch_size(count: u32, max: u32) -> (u32, u32) {
    let groups = count.div_ceil(WORKGROUP_SIZE).max(1);
    let x = groups.min(max);
    (x, groups.div_ceil(x))
}

#[cfg(test)]
mod tests {
    use super::dispatch_size;

    #[test]
    fn dispatches_fold_into_two_dimensions_within_the_limit() {
        assert_eq!(dispatch_size(1, 65535), (1, 1));
        assert_eq!(dispatch_size(256 * 10, 65535), (10, 1));
        assert_eq!(dispatch_size(256 * 10 + 1, 4), (4, 3), "11 groups as 4 x 3");
        let (x, y) = dispatch_size(u32::MAX, 65535);
        assert!(u64::from(x) * u64::from(y) * 256 >= u64::from(u32::MAX));
    }
}
