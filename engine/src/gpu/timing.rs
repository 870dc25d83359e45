//! Kernel times from GPU timestamp queries, where the adapter has them
//! (`Features::TIMESTAMP_QUERY`): every pass writes its start and end into a pool of query
//! slots; the pool is read back when it fills or when the times are asked for, and each
//! pass's time is added to its kernel's. Passes are claimed, encoded and submitted under one
//! lock, so a read-back never meets a slot that is not written yet.

use std::sync::{Mutex, MutexGuard, mpsc};

use crate::error::{EngineError, Result};

/// Passes timed between read-backs (two slots each).
const PASSES: u32 = 256;

/// The query pool and what it has measured.
pub(crate) struct Timing {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period_ns: f64,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    /// The kernel of each pass in the pool, in slot order.
    passes: Vec<&'static str>,
    /// Seconds per kernel, in the order first seen.
    totals: Vec<(&'static str, f64)>,
}

/// A claimed pass: its slots, held with the pool's lock until the pass is submitted.
pub(crate) struct Claim<'a> {
    timing: &'a Timing,
    _state: MutexGuard<'a, State>,
    first: u32,
}

impl Claim<'_> {
    pub fn compute(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.timing.set,
            beginning_of_pass_write_index: Some(self.first),
            end_of_pass_write_index: Some(self.first + 1),
        }
    }

    pub fn render(&self) -> wgpu::RenderPassTimestampWrites<'_> {
        wgpu::RenderPassTimestampWrites {
            query_set: &self.timing.set,
            beginning_of_pass_write_index: Some(self.first),
            end_of_pass_write_index: Some(self.first + 1),
        }
    }
}

impl Timing {
    /// The features to ask the device for, so that [`Timing::new`] can time passes.
    pub fn features(adapter: &wgpu::Adapter) -> wgpu::Features {
        adapter.features() & wgpu::Features::TIMESTAMP_QUERY
    }

    /// A pool on `device`, or `None` when it cannot time passes.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Option<Self> {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let bytes = u64::from(2 * PASSES) * u64::from(wgpu::QUERY_SIZE);
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(Self {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel times"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * PASSES,
            }),
            resolve: buffer(
                "timestamps",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "timestamps read back",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period_ns: f64::from(queue.get_timestamp_period()),
            state: Mutex::new(State::default()),
        })
    }

    /// The slots of one pass of `kernel`; the pool is read back first when it is full.
    pub fn claim(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        kernel: &'static str,
    ) -> Result<Claim<'_>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.passes.len() as u32 == PASSES {
            self.read_back(device, queue, &mut state)?;
        }
        let first = 2 * state.passes.len() as u32;
        state.passes.push(kernel);
        Ok(Claim { timing: self, _state: state, first })
    }

    /// Seconds per kernel since the last call, reading back what the pool holds.
    pub fn take(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
    ) -> Result<Vec<(&'static str, f64)>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.read_back(device, queue, &mut state)?;
        Ok(std::mem::take(&mut state.totals))
    }

    fn read_back(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        state: &mut State,
    ) -> Result<()> {
        let slots = 2 * state.passes.len() as u32;
        if slots == 0 {
            return Ok(());
        }
        let bytes = u64::from(slots) * u64::from(wgpu::QUERY_SIZE);
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.resolve_query_set(&self.set, 0..slots, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, bytes);
        queue.submit([encoder.finish()]);
        let (tx, rx) = mpsc::channel();
        self.readback.map_async(wgpu::MapMode::Read, ..bytes, move |result| {
            let _ = tx.send(result);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| EngineError::Gpu(format!("waiting for the GPU failed: {e}")))?;
        rx.recv()
            .map_err(|_| EngineError::Gpu("the timestamps were not read back".into()))?
            .map_err(|e| EngineError::Gpu(format!("reading the timestamps back failed: {e}")))?;
        {
            let view = self
                .readback
                .get_mapped_range(..bytes)
                .map_err(|e| EngineError::Gpu(format!("mapping the timestamps failed: {e}")))?;
            let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&view[..]);
            for (kernel, pair) in state.passes.iter().zip(ticks.chunks_exact(2)) {
                let seconds = pair[1].saturating_sub(pair[0]) as f64 * self.period_ns / 1e9;
                match state.totals.iter_mut().find(|(k, _)| k == kernel) {
                    Some((_, total)) => *total += seconds,
                    None => state.totals.push((kernel, seconds)),
                }
            }
        }
        self.readback.unmap();
        state.passes.clear();
        Ok(())
    }
}
