//! Lithos' compute engine: images to closed, printable triangle meshes.
//!
//! The pipeline, each grid stage a WGSL kernel in `shaders/` with a CPU twin in [`cpu`]:
//!
//! 1. [`decode`]: sniff and decode under limits, keeping 16-bit and float precision.
//! 2. `luminance`: Rec. 709 luminance and alpha.
//! 3. `resample` to the target grid, then an optional separable Gaussian `blur`.
//! 4. `thickness`: tone curve (levels, invert, gamma), mask, and millimetres per vertex.
//! 5. [`mesh`]: the `top_surface` kernel writes two STL records per cell; walls and a floor
//!    close each region into one manifold.
//! 6. [`stl`]: records stream to a writer thread, into a temporary file renamed when complete.
//!
//! [`Engine`] picks the backend once and runs any number of conversions; its three pipelines
//! (heightfields, solids, volumes) live in `pipeline/`, one module each.

mod backend;
pub mod cpu;
pub mod decode;
pub mod error;
pub mod export;
pub mod gpu;
pub mod inspect;
pub mod isosurface;
pub mod kernels;
pub mod mesh;
pub mod params;
mod pipeline;
pub mod progress;
pub mod solid;
mod stages;
pub mod stl;
pub mod volume;
pub mod work;

use std::time::Instant;

use backend::Backend;
pub use backend::BackendKind;
pub use decode::{DecodeLimits, SourceImage};
pub use error::{EngineError, Result};
pub use gpu::GpuLimits;
pub use isosurface::{IndexedMesh, IsoOptions, ScalarField};
pub use params::VolumeParams;
pub use solid::{Bevel, SolidParams};
pub use volume::{RawType, Volume, VolumeSource};
pub use work::{MAX_SOLID_VOXELS, Work, WorkLimits};

pub use mesh::{Cells, Heightfield};
pub use params::{ConvertParams, MaskSource, Millimetres, Mode, ParamError};
pub use progress::{HEIGHTFIELD_STAGES, Progress, SOLID_STAGES, Silent, Stage};
pub use stl::{MeshFormat, MeshStats};

/// Which backend to run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// A hardware GPU when there is one, else the CPU. Software adapters do not count.
    #[default]
    Auto,
    /// Any wgpu adapter, software ones (lavapipe) included; an error when there is none.
    Gpu,
    /// The multithreaded CPU path.
    Cpu,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct EngineOptions {
    pub backend: BackendChoice,
    /// Lower the GPU's limits, to exercise tiling.
    pub gpu_limits: Option<GpuLimits>,
}

/// Time spent in one stage.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct StageTime {
    pub stage: Stage,
    pub seconds: f64,
}

/// What a finished conversion produced.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    pub triangles: u64,
    pub bytes: u64,
    pub backend: BackendKind,
    pub adapter: String,
    pub seconds: f64,
    pub stages: Vec<StageTime>,
    /// Grid vertices, across and down.
    pub grid: [u32; 2],
    /// Width, depth and height of the model in millimetres.
    pub size_mm: [f32; 3],
    /// Shared vertices, for indexed meshes (volumes and solids).
    pub vertices: Option<u64>,
    /// Voxels of the field that was meshed (volumes and solids).
    pub voxels: Option<[u32; 3]>,
    /// The isovalue used (volumes).
    pub iso: Option<f32>,
}

/// A backend, opened once and used for any number of conversions.
#[derive(Debug)]
pub struct Engine {
    backend: Backend,
    adapter: String,
}

impl Engine {
    pub fn new(options: &EngineOptions) -> Result<Self> {
        let gpu = match options.backend {
            BackendChoice::Cpu => None,
            BackendChoice::Gpu => {
                Some(gpu::Gpu::open(false, options.gpu_limits)?.ok_or(EngineError::NoGpu)?)
            }
            BackendChoice::Auto => gpu::Gpu::open(true, options.gpu_limits)?,
        };
        Ok(match gpu {
            Some(gpu) => {
                let adapter = gpu.adapter().name.clone();
                Self { backend: Backend::Gpu(Box::new(gpu)), adapter }
            }
            None => Self {
                backend: Backend::Cpu,
                adapter: format!("CPU ({} threads)", rayon::current_num_threads()),
            },
        })
    }

    pub fn backend(&self) -> BackendKind {
        self.backend.kind()
    }

    /// The adapter's name, or the CPU and its thread count.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }
}

/// Where a conversion from a file begins: the clock starts, and `read` loads the input as the
/// `decode` stage. Returns the start, the stage times so far, and the input.
pub(crate) fn read_input<T>(
    progress: &dyn Progress,
    read: impl FnOnce() -> Result<T>,
) -> Result<(Instant, Vec<StageTime>, T)> {
    let start = Instant::now();
    let mut times = Vec::new();
    let input = timed(Stage::Decode, progress, &mut times, read)?;
    Ok((start, times, input))
}

pub(crate) fn timed<T>(
    stage: Stage,
    progress: &dyn Progress,
    times: &mut Vec<StageTime>,
    run: impl FnOnce() -> Result<T>,
) -> Result<T> {
    progress.check_canceled()?;
    progress.stage(stage);
    let start = Instant::now();
    let value = run()?;
    times.push(StageTime { stage, seconds: start.elapsed().as_secs_f64() });
    Ok(value)
}
