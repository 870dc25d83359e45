//! The two backends behind one set of per-band kernel calls.
//!
//! The stage drivers in `stages.rs` cut work into bands and call these methods; the CPU runs the
//! twins in `cpu/`, the GPU dispatches the same kernels from `shaders/`. Because both backends
//! see identical bands, configs and buffers, their outputs can be compared value for value.

use crate::cpu;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::isosurface::{IndexedMesh, Slab};
use crate::kernels::{
    BLUR, BlurConfig, COLUMN_KEEP, ColumnConfig, LUMINANCE, LuminanceConfig, RESAMPLE, RTIN_ERROR,
    ResampleConfig, RtinConfig, SurfaceConfig, THICKNESS, TOP_SURFACE, ThicknessConfig,
    VOLUME_BLUR, VolumeBlurConfig,
};

/// Which backend a conversion ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    Gpu,
}

crate::names::named!(BackendKind, "backend" { Cpu => "cpu", Gpu => "gpu" });

/// CPU bands of grid stages: big enough to keep both cores busy, small enough that the band
/// copies (interleaved pixels, say) stay far below the memory budget.
const CPU_BAND_BYTES: u64 = 32 << 20;
/// CPU bands of streamed mesh records: small, so writing one overlaps generating the next.
const CPU_STREAM_BYTES: u64 = 8 << 20;
/// CPU marching-cubes slabs: a 1024-wide volume in slabs of about 45 planes, a 256-wide one
/// in one pass.
const CPU_SLAB_BYTES: u64 = 384 << 20;

#[derive(Debug)]
pub(crate) enum Backend {
    Cpu,
    Gpu(Box<Gpu>),
}

impl Backend {
    /// Seconds per GPU kernel since the last call ([`Gpu::take_kernel_times`]); none on
    /// the CPU.
    pub fn take_kernel_times(&self) -> Result<Vec<(&'static str, f64)>> {
        match self {
            Backend::Cpu => Ok(Vec::new()),
            Backend::Gpu(gpu) => gpu.take_kernel_times(),
        }
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            Backend::Cpu => BackendKind::Cpu,
            Backend::Gpu(_) => BackendKind::Gpu,
        }
    }

    /// The largest buffer one kernel binding may have in one band.
    pub fn band_bytes(&self) -> u64 {
        match self {
            Backend::Cpu => CPU_BAND_BYTES,
            Backend::Gpu(gpu) => gpu.max_binding_bytes(),
        }
    }

    /// The most invocations one kernel call may run.
    pub fn max_invocations(&self) -> u64 {
        match self {
            Backend::Cpu => u64::MAX,
            Backend::Gpu(gpu) => gpu.max_invocations(),
        }
    }

    /// Output bytes per band of streamed mesh records: small on the CPU so writing overlaps
    /// generating, as large as the limits allow on the GPU to amortise each round trip.
    pub fn streaming_band_bytes(&self) -> u64 {
        match self {
            Backend::Cpu => CPU_STREAM_BYTES,
            Backend::Gpu(gpu) => gpu.max_binding_bytes().min(256 << 20),
        }
    }

    /// Working memory per marching-cubes slab, and what one padded grid point costs. On the
    /// GPU: values, classification, four scanned counts and the active list, the counts'
    /// binding the largest (half) and bounded by the device. On the CPU: values (when
    /// converted) and bitsets.
    pub fn slab_bytes(&self) -> (u64, u64) {
        match self {
            Backend::Cpu => (CPU_SLAB_BYTES, 8),
            Backend::Gpu(gpu) => (gpu.max_binding_bytes().min(512 << 20) * 2, 32),
        }
    }

    /// Marching cubes over one slab; see [`crate::isosurface`].
    pub fn marching_cubes(
        &self,
        slab: &Slab<'_>,
        base: u32,
        mesh: &mut IndexedMesh,
    ) -> Result<Option<u32>> {
        match self {
            Backend::Cpu => Ok(Some(cpu::marching_cubes::slab(slab, base, mesh))),
            Backend::Gpu(gpu) => crate::isosurface::gpu::slab(gpu, slab, base, mesh),
        }
    }

    pub fn luminance(
        &self,
        config: &LuminanceConfig,
        pixels: &[f32],
        luma: &mut [f32],
        alpha: &mut [f32],
    ) -> Result<()> {
        match self {
            Backend::Cpu => cpu::luminance::luminance(config, pixels, luma, alpha),
            Backend::Gpu(gpu) => {
                let size = u64::from(config.count) * 4;
                gpu.run(
                    &LUMINANCE,
                    bytemuck::bytes_of(config),
                    config.count,
                    &[bytemuck::cast_slice(pixels)],
                    &[size, size],
                    |out| {
                        luma.copy_from_slice(bytemuck::cast_slice(out[0]));
                        alpha.copy_from_slice(bytemuck::cast_slice(out[1]));
                    },
                )?;
            }
        }
        Ok(())
    }

    pub fn resample(&self, config: &ResampleConfig, src: &[f32], dst: &mut [f32]) -> Result<()> {
        match self {
            Backend::Cpu => cpu::resample::resample(config, src, dst),
            Backend::Gpu(gpu) => gpu.run(
                &RESAMPLE,
                bytemuck::bytes_of(config),
                config.count,
                &[bytemuck::cast_slice(src)],
                &[u64::from(config.count) * 4],
                |out| dst.copy_from_slice(bytemuck::cast_slice(out[0])),
            )?,
        }
        Ok(())
    }

    pub fn blur(
        &self,
        config: &BlurConfig,
        weights: &[f32],
        src: &[f32],
        dst: &mut [f32],
    ) -> Result<()> {
        match self {
            Backend::Cpu => cpu::blur::blur(config, weights, src, dst),
            Backend::Gpu(gpu) => gpu.run(
                &BLUR,
                bytemuck::bytes_of(config),
                config.count,
                &[bytemuck::cast_slice(weights), bytemuck::cast_slice(src)],
                &[u64::from(config.count) * 4],
                |out| dst.copy_from_slice(bytemuck::cast_slice(out[0])),
            )?,
        }
        Ok(())
    }

    pub fn volume_blur(
        &self,
        config: &VolumeBlurConfig,
        weights: &[f32],
        src: &[f32],
        dst: &mut [f32],
    ) -> Result<()> {
        match self {
            Backend::Cpu => cpu::volume_blur::volume_blur(config, weights, src, dst),
            Backend::Gpu(gpu) => gpu.run(
                &VOLUME_BLUR,
                bytemuck::bytes_of(config),
                config.count,
                &[bytemuck::cast_slice(weights), bytemuck::cast_slice(src)],
                &[u64::from(config.count) * 4],
                |out| dst.copy_from_slice(bytemuck::cast_slice(out[0])),
            )?,
        }
        Ok(())
    }

    pub fn thickness(
        &self,
        config: &ThicknessConfig,
        luma: &[f32],
        alpha: &[f32],
        thickness: &mut [f32],
        inside: &mut [u32],
    ) -> Result<()> {
        match self {
            Backend::Cpu => cpu::thickness::thickness(config, luma, alpha, thickness, inside),
            Backend::Gpu(gpu) => {
                let size = u64::from(config.count) * 4;
                gpu.run(
                    &THICKNESS,
                    bytemuck::bytes_of(config),
                    config.count,
                    &[bytemuck::cast_slice(luma), bytemuck::cast_slice(alpha)],
                    &[size, size],
                    |out| {
                        thickness.copy_from_slice(bytemuck::cast_slice(out[0]));
                        inside.copy_from_slice(bytemuck::cast_slice(out[1]));
                    },
                )?;
            }
        }
        Ok(())
    }

    /// `triangles` drawn as `config` says into `side` x `side` RGBA pixels.
    pub fn thumbnail(
        &self,
        config: &crate::thumbnail::ThumbnailConfig,
        triangles: &[crate::thumbnail::Shaded],
        side: u32,
    ) -> Result<Vec<u8>> {
        match self {
            Backend::Cpu => Ok(crate::thumbnail::raster::render(config, triangles, side)),
            Backend::Gpu(gpu) => gpu.render_thumbnail(config, triangles, side),
        }
    }

    /// The error pyramid of `points` (`size` x `size` words), level by level as `levels`
    /// lists them (finest first): one error per point. A GPU whose bindings cannot hold the
    /// grid leaves it to the CPU, which computes the same words.
    pub fn rtin_errors(&self, levels: &[RtinConfig], points: &[u32]) -> Result<Vec<u32>> {
        let bytes = size_of_val(points) as u64;
        match self {
            Backend::Gpu(gpu) if bytes <= gpu.max_binding_bytes() => {
                let points_buffer = gpu.upload(bytemuck::cast_slice(points));
                let errors = gpu.zeroed(bytes)?;
                for config in levels {
                    gpu.dispatch(
                        &RTIN_ERROR,
                        bytemuck::bytes_of(config),
                        config.count,
                        &[&points_buffer, &errors],
                    )?;
                }
                Ok(bytemuck::pod_collect_to_vec(&gpu.download(&errors, 0, bytes)?))
            }
            _ => {
                let mut errors = vec![0u32; points.len()];
                for config in levels {
                    cpu::rtin_error::rtin_error(config, points, &mut errors);
                }
                Ok(errors)
            }
        }
    }

    /// Which points each column of `heights` (row-major, `config.width` x `config.height`
    /// steps) keeps: column-major, 1 where kept. A GPU whose bindings cannot hold the grid
    /// leaves it to the CPU, which keeps the same points.
    pub fn column_keep(&self, config: &ColumnConfig, heights: &[u32]) -> Result<Vec<u32>> {
        let bytes = size_of_val(heights) as u64;
        match self {
            Backend::Gpu(gpu) if bytes <= gpu.max_binding_bytes() => {
                let heights = gpu.upload(bytemuck::cast_slice(heights));
                let keep = gpu.zeroed(bytes)?;
                gpu.dispatch(
                    &COLUMN_KEEP,
                    bytemuck::bytes_of(config),
                    config.width,
                    &[&heights, &keep],
                )?;
                Ok(bytemuck::pod_collect_to_vec(&gpu.download(&keep, 0, bytes)?))
            }
            _ => {
                let mut keep = vec![0u32; heights.len()];
                cpu::column_keep::column_keep(config, heights, &mut keep);
                Ok(keep)
            }
        }
    }

    /// `records` holds exactly `config.count` cells of 100 bytes.
    pub fn top_surface(
        &self,
        config: &SurfaceConfig,
        thickness: &[f32],
        records: &mut [u8],
    ) -> Result<()> {
        match self {
            Backend::Cpu => {
                // The buffer is recycled bytes; the twin writes words. Vec<u8> has no 4-byte
                // alignment guarantee, so go through an aligned view when it is aligned (always,
                // with the system allocator) and a copy otherwise.
                match bytemuck::try_cast_slice_mut::<u8, u32>(records) {
                    Ok(words) => cpu::top_surface::top_surface(config, thickness, words),
                    Err(_) => {
                        let mut words = vec![0u32; records.len() / 4];
                        cpu::top_surface::top_surface(config, thickness, &mut words);
                        records.copy_from_slice(bytemuck::cast_slice(&words));
                    }
                }
            }
            Backend::Gpu(gpu) => gpu.run(
                &TOP_SURFACE,
                bytemuck::bytes_of(config),
                config.count,
                &[bytemuck::cast_slice(thickness)],
                &[records.len() as u64],
                |out| records.copy_from_slice(out[0]),
            )?,
        }
        Ok(())
    }
}
