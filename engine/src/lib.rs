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
//! (heightfields, solids, volumes, 3D files, text) live in `pipeline/`, one module each.

mod backend;
pub mod backlit;
mod banded;
pub mod check;
pub mod cpu;
pub mod decode;
pub mod error;
pub mod export;
pub mod gpu;
pub mod inspect;
pub mod isosurface;
pub mod job;
pub mod kernels;
pub mod mesh;
pub mod model;
mod names;
pub mod palette;
pub mod params;
mod pipeline;
pub mod progress;
mod sets;
pub mod solid;
mod stages;
pub mod stl;
pub mod text;
pub mod thumbnail;
pub mod volume;
pub mod work;

use std::time::Instant;

use serde::ser::SerializeMap;

use backend::Backend;
pub use backend::BackendKind;
pub use decode::{DecodeLimits, SourceImage};
pub use error::{EngineError, Result};
pub use gpu::GpuLimits;
pub use isosurface::{IndexedMesh, IsoOptions, ScalarField};
pub use pipeline::Input;
pub use solid::{Bevel, SolidParams};
pub use volume::{RawType, Volume, VolumeParams, VolumeSource};
pub use work::{MAX_SOLID_VOXELS, Work, WorkLimits};

pub use job::{InputKind, Job, JobKind, JobMode, JobRequest, PREVIEW_GRID, PREVIEW_SOURCE};
pub use mesh::{Cells, Heightfield};
pub use params::{ConvertParams, Light, MaskSource, Millimetres, Mode, ParamError, ThicknessModel};
pub use progress::{
    HEIGHTFIELD_STAGES, MESH_STAGES, Progress, SOLID_STAGES, Silent, Stage, TEXT_STAGES,
    VOLUME_STAGES,
};
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

names::named!(BackendChoice, "backend" { Auto => "auto", Gpu => "gpu", Cpu => "cpu" });

impl BackendChoice {
    /// One line on what the choice does.
    pub fn summary(self) -> &'static str {
        match self {
            BackendChoice::Auto => "A hardware GPU if there is one, else the CPU.",
            BackendChoice::Gpu => {
                "Any GPU adapter, software ones included; fails if there is none."
            }
            BackendChoice::Cpu => "The multithreaded CPU path.",
        }
    }
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

/// What a finished conversion produced: the CLI prints it, the worker stores it (with the
/// service's own stages added) and the API returns it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    pub triangles: u64,
    pub bytes: u64,
    pub format: MeshFormat,
    pub backend: BackendKind,
    pub adapter: String,
    pub seconds: f64,
    /// Seconds per stage, as an object keyed by the stage's name.
    #[serde(serialize_with = "stage_map")]
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
    /// A lithophane lit from behind ([`backlit::backlit`]), at most [`backlit::MAX_SIDE`]
    /// pixels on its long side.
    #[serde(skip)]
    pub backlit: Option<image::GrayImage>,
    /// The output's thumbnail ([`thumbnail`]): a 512 x 512 PNG, also inside a 3MF.
    #[serde(skip)]
    pub thumbnail: Option<Vec<u8>>,
    /// A palette relief's filament swaps, bottom up ([`palette::Plan::swaps`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub swaps: Vec<palette::Swap>,
    /// A palette relief's expected colours ([`palette::Plan::preview`]), when asked for
    /// like `backlit`; transparent outside its mask.
    #[serde(skip)]
    pub colours: Option<image::RgbaImage>,
    /// GPU seconds per kernel (and `thumbnail` for its render pass), from timestamp queries,
    /// as an object keyed by the kernel's name; empty on the CPU or without timestamps.
    #[serde(serialize_with = "kernel_map", skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<KernelTime>,
    /// The output's check: closed, manifold, oriented, shells and volume.
    pub check: check::Check,
    /// A 3D file's job: its format, what was wrong with it, and what repair changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<model::ModelReport>,
}

/// The GPU time of one kernel over a conversion's passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelTime {
    pub kernel: &'static str,
    pub seconds: f64,
}

fn kernel_map<S: serde::Serializer>(kernels: &[KernelTime], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(kernels.len()))?;
    for time in kernels {
        map.serialize_entry(time.kernel, &time.seconds)?;
    }
    map.end()
}

impl Report {
    /// Grid points per million, for the heightfields' throughput; `None` for meshes of a
    /// field (solids and volumes).
    pub fn megapixels(&self) -> Option<f64> {
        let [w, h] = self.grid;
        self.voxels.is_none().then(|| f64::from(w) * f64::from(h) / 1e6)
    }
}

fn stage_map<S: serde::Serializer>(stages: &[StageTime], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(stages.len()))?;
    for time in stages {
        map.serialize_entry(time.stage.name(), &time.seconds)?;
    }
    map.end()
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
