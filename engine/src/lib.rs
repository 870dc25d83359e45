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
//! [`Engine`] picks the backend once and runs any number of conversions.

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
pub mod progress;
pub mod solid;
mod stages;
pub mod stl;
pub mod volume;
pub mod work;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use backend::Backend;
pub use backend::BackendKind;
pub use decode::{DecodeLimits, SourceImage};
pub use error::{EngineError, Result};
pub use gpu::GpuLimits;
pub use isosurface::{IndexedMesh, IsoOptions, ScalarField};
pub use params::VolumeParams;
use solid::SolidField;
pub use solid::{Bevel, SolidParams};
pub use volume::{RawType, Volume, VolumeSource};
pub use work::{MAX_SOLID_VOXELS, Work, WorkLimits};

use kernels::{MASK_ALPHA, MASK_NONE, MASK_THRESHOLD, ThicknessConfig};
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

    /// Stages 2 to 4: the thickness map and solid cells of `image` under `params`.
    pub fn heightfield(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<Heightfield> {
        let (gw, gh, pitch_mm, thickness, inside) = self.grid(image, params, progress, times)?;
        let cells = Cells::from_inside(&inside, gw, gh);
        let hf = Heightfield { width: gw, height: gh, pitch_mm, thickness: thickness.data, cells };
        if hf.cells.solid_count() == 0 {
            let threshold = params.mask.map_or(0.0, |m| m.threshold);
            return Err(EngineError::EmptyMask { threshold });
        }
        Ok(hf)
    }

    /// Stages 2 to 4 on the grid: its size and pitch, the thickness map, and which grid
    /// vertices the mask keeps (1) or drops (0).
    fn grid(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(u32, u32, f32, stages::Plane, Vec<u32>)> {
        params.validate()?;
        let alpha_mask = matches!(params.mask, Some(m) if m.source == MaskSource::Alpha);
        if alpha_mask && !image.has_alpha() {
            return Err(EngineError::NoAlpha);
        }
        let backend = &self.backend;
        let (luma, alpha) = timed(Stage::Luminance, progress, times, || {
            stages::luminance(backend, image, alpha_mask)
        })?;
        let (gw, gh) = params.grid_dimensions(image.width(), image.height());
        params.checked_pitch_mm(gw, gh)?;
        let (luma, alpha) = timed(Stage::Resample, progress, times, || {
            let alpha = alpha.map(|a| stages::resample(backend, a, gw, gh)).transpose()?;
            Ok((stages::resample(backend, luma, gw, gh)?, alpha))
        })?;
        let luma = timed(Stage::Blur, progress, times, || {
            stages::blur(backend, luma, params.tone.blur_px)
        })?;
        let pitch_mm = params.pitch_mm(gw);
        let (thickness, inside) = timed(Stage::Thickness, progress, times, || {
            let config = thickness_config(params, image, &luma, gw, gh, pitch_mm);
            stages::thickness(backend, &luma, alpha.as_ref(), config)
        })?;
        Ok((gw, gh, pitch_mm, thickness, inside))
    }

    /// A closed solid from the mask of `image` (alpha when it has one and `params` names no
    /// mask, else a brightness threshold), in millimetres with its bottom at z = 0.
    pub fn solid(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        solid: &SolidParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<IndexedMesh> {
        solid.validate()?;
        let mut params = *params;
        if params.mask.is_none() {
            let source = if image.has_alpha() { MaskSource::Alpha } else { MaskSource::Threshold };
            params.mask = Some(params::Mask { source, threshold: 0.5 });
        }
        let (gw, gh, pitch_mm, _, inside) = self.grid(image, &params, progress, times)?;
        let inside: Vec<bool> = inside.iter().map(|&i| i != 0).collect();
        if !inside.contains(&true) {
            let threshold = params.mask.map_or(0.0, |m| m.threshold);
            return Err(EngineError::EmptyMask { threshold });
        }
        // Checked before the field exists, in saturating arithmetic: a tiny pitch must not
        // wrap the count into a small number.
        let dims = work::solid_dims(gw, gh, work::solid_layers(solid.depth_mm.get(), pitch_mm));
        let voxels = dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d));
        if voxels > MAX_SOLID_VOXELS {
            return Err(EngineError::SolidTooLarge { voxels, pitch_mm });
        }
        let field = timed(Stage::Field, progress, times, || {
            Ok(SolidField::new(&inside, gw as usize, gh as usize, pitch_mm, *solid))
        })?;
        let mut mesh = timed(Stage::Isosurface, progress, times, || {
            self.isosurface(&field, &IsoOptions::new(0.0), progress)
        })?;
        // Voxel centres to millimetres, image rows running down becoming y running up.
        let margin = solid::MARGIN as f32;
        let top = (gh as f32 - 1.0 + margin) * pitch_mm;
        mesh.transform(|[x, y, z]| {
            [(x - margin) * pitch_mm, top - y * pitch_mm, field.z_mm(0) + z * pitch_mm]
        });
        mesh.reflect();
        Ok(mesh)
    }

    /// Reads a volume and meshes its isosurface, in millimetres with its corner at the origin.
    /// Returns the mesh and the isovalue used.
    pub fn volume(
        &self,
        volume: &Volume,
        params: &VolumeParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(IndexedMesh, f32)> {
        params.validate()?;
        let cropped;
        let volume = match params.crop {
            Some(crop) => {
                crop.check(volume.dims)?;
                cropped = volume.crop(crop.lo, crop.hi);
                &cropped
            }
            None => volume,
        };
        let iso = params.iso.unwrap_or_else(|| volume.otsu_threshold());
        let options = IsoOptions { smooth_voxels: params.smooth_voxels, ..IsoOptions::new(iso) };
        let mut mesh = timed(Stage::Isosurface, progress, times, || {
            self.isosurface(volume, &options, progress)
        })?;
        if params.largest_component {
            mesh.keep_largest_component();
        }
        let spacing = params.spacing_mm.unwrap_or(volume.spacing_mm);
        let r = volume.orientation;
        mesh.transform(|p| {
            let s = [0, 1, 2].map(|k| p[k] * spacing[k]);
            [0, 1, 2].map(|i| r[0][i] * s[0] + r[1][i] * s[1] + r[2][i] * s[2])
        });
        let det = r[0][0] * (r[1][1] * r[2][2] - r[2][1] * r[1][2])
            - r[1][0] * (r[0][1] * r[2][2] - r[2][1] * r[0][2])
            + r[2][0] * (r[0][1] * r[1][2] - r[1][1] * r[0][2]);
        if det < 0.0 {
            mesh.reflect();
        }
        mesh.move_to_origin();
        Ok((mesh, iso))
    }

    /// Writes an indexed mesh to `output`, replaced only on success.
    pub fn write_indexed(
        &self,
        mesh: &IndexedMesh,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<MeshStats> {
        stl::write_file_atomically(output, |file| {
            self.write_indexed_to(mesh, format, file, progress, times)
        })
    }

    /// Writes an indexed mesh to `out` (a file, an upload).
    pub fn write_indexed_to<W: Write>(
        &self,
        mesh: &IndexedMesh,
        format: MeshFormat,
        out: W,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<MeshStats> {
        if mesh.triangles.is_empty() {
            return Err(EngineError::EmptySurface);
        }
        timed(Stage::Mesh, progress, times, || {
            export::write_indexed(mesh, format, out).map_err(EngineError::WriteOutput)
        })
    }

    /// Stage 5 and 6: streams the mesh of `hf` to `out`.
    pub fn write_mesh<W: Write + Send>(
        &self,
        hf: &Heightfield,
        format: MeshFormat,
        out: W,
        progress: &dyn Progress,
    ) -> Result<MeshStats> {
        let triangles = hf.triangle_count();
        stl::stream(format, out, triangles, |feed| mesh::stream(&self.backend, hf, feed, progress))
    }

    /// Marching cubes over `field`: a closed, welded mesh in voxel coordinates.
    pub fn isosurface(
        &self,
        field: &dyn ScalarField,
        options: &IsoOptions,
        progress: &dyn Progress,
    ) -> Result<IndexedMesh> {
        let backend = &self.backend;
        if field.dims().contains(&0) {
            return Err(EngineError::EmptyVolume);
        }
        isosurface::extract(
            field,
            options,
            backend.slab_bytes(),
            |values, dims, _| stages::smooth_volume(backend, values, dims, options.smooth_voxels),
            |slab, base, mesh| backend.marching_cubes(slab, base, mesh),
            progress,
        )
    }

    /// Converts a decoded image into a mesh file at `output`, replaced only on success.
    pub fn convert_image(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
    ) -> Result<Report> {
        stl::write_file_atomically(output, |file| {
            self.convert_image_to(image, params, format, file, progress)
        })
    }

    /// Converts a decoded image into a mesh streamed to `out` (a file, an upload), which the
    /// caller commits only when this returns `Ok`.
    pub fn convert_image_to<W: Write + Send>(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        format: MeshFormat,
        out: W,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        let mut times = Vec::new();
        let hf = self.heightfield(image, params, progress, &mut times)?;
        let stats = timed(Stage::Mesh, progress, &mut times, || {
            self.write_mesh(&hf, format, out, progress)
        })?;
        Ok(Report {
            triangles: stats.triangles,
            bytes: stats.bytes,
            backend: self.backend(),
            adapter: self.adapter.clone(),
            seconds: start.elapsed().as_secs_f64(),
            stages: times,
            grid: [hf.width, hf.height],
            size_mm: hf.size_mm(),
            vertices: None,
            voxels: None,
            iso: None,
        })
    }

    /// Decodes `input` under `limits` and converts it; see [`Engine::convert_image`].
    pub fn convert_file(
        &self,
        input: &Path,
        limits: DecodeLimits,
        params: &ConvertParams,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        params.validate()?;
        let mut times = Vec::new();
        let image =
            timed(Stage::Decode, progress, &mut times, || decode::decode_file(input, limits))?;
        let mut report = self.convert_image(&image, params, format, output, progress)?;
        times.append(&mut report.stages);
        report.stages = times;
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}

impl Engine {
    /// Reads the volume at `input` and writes its isosurface to `output`, replaced only on
    /// success.
    #[expect(clippy::too_many_arguments, reason = "each argument is a separate user choice")]
    pub fn convert_volume(
        &self,
        input: &Path,
        source: VolumeSource,
        limits: DecodeLimits,
        params: &VolumeParams,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        params.validate()?;
        let mut times = Vec::new();
        let volume =
            timed(Stage::Decode, progress, &mut times, || volume::load(input, source, limits))?;
        let (mesh, iso) = self.volume(&volume, params, progress, &mut times)?;
        let dims = params.crop.map_or(volume.dims, |c| [0, 1, 2].map(|k| c.hi[k] - c.lo[k]));
        drop(volume);
        self.indexed_report(start, mesh, format, output, progress, times, dims, Some(iso))
    }

    /// Decodes the image at `input` and writes a solid made from its mask to `output`.
    #[expect(clippy::too_many_arguments, reason = "each argument is a separate user choice")]
    pub fn convert_solid(
        &self,
        input: &Path,
        limits: DecodeLimits,
        params: &ConvertParams,
        solid: &SolidParams,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        params.validate()?;
        solid.validate()?;
        let mut times = Vec::new();
        let image =
            timed(Stage::Decode, progress, &mut times, || decode::decode_file(input, limits))?;
        let (gw, gh) = params.grid_dimensions(image.width(), image.height());
        let mesh = self.solid(&image, params, solid, progress, &mut times)?;
        drop(image);
        let layers = work::solid_layers(solid.depth_mm.get(), params.pitch_mm(gw));
        let dims = [gw as usize, gh as usize, usize::try_from(layers).unwrap_or(usize::MAX)];
        self.indexed_report(start, mesh, format, output, progress, times, dims, None)
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one report")]
    fn indexed_report(
        &self,
        start: Instant,
        mesh: IndexedMesh,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
        mut times: Vec<StageTime>,
        dims: [usize; 3],
        iso: Option<f32>,
    ) -> Result<Report> {
        let stats = self.write_indexed(&mesh, format, output, progress, &mut times)?;
        let (lo, hi) = mesh.bounds();
        Ok(Report {
            triangles: stats.triangles,
            bytes: stats.bytes,
            backend: self.backend(),
            adapter: self.adapter.clone(),
            seconds: start.elapsed().as_secs_f64(),
            stages: times,
            grid: [dims[0] as u32, dims[1] as u32],
            size_mm: [0, 1, 2].map(|k| hi[k] - lo[k]),
            vertices: Some(mesh.positions.len() as u64),
            voxels: Some(dims.map(|d| d as u32)),
            iso,
        })
    }
}

fn timed<T>(
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

fn thickness_config(
    params: &ConvertParams,
    image: &SourceImage,
    luma: &stages::Plane,
    width: u32,
    height: u32,
    pitch_mm: f32,
) -> ThicknessConfig {
    // Float images carry their own units (metres of elevation, say): stretch them to 0..1
    // unless they already lie there.
    let (mut lo, mut hi) = (0.0, 1.0);
    if params.tone.auto_levels || image.is_float() {
        let (min, max) = luma.range();
        if params.tone.auto_levels || min < 0.0 || max > 1.0 {
            (lo, hi) = (min, max);
        }
    }
    let (base_mm, span_mm, frame_mm, frame_thickness_mm) = match params.mode {
        Mode::Relief { base_mm, relief_mm } => (base_mm.get(), relief_mm.get(), 0.0, 0.0),
        Mode::Lithophane { min_mm, max_mm, frame } => {
            let (fw, ft) = frame.map_or((0.0, 0.0), |f| (f.width_mm.get(), f.thickness_mm.get()));
            (max_mm.get(), min_mm.get() - max_mm.get(), fw, ft)
        }
    };
    let (mask, threshold) = match params.mask {
        None => (MASK_NONE, 0.0),
        Some(m) if m.source == MaskSource::Alpha => (MASK_ALPHA, m.threshold),
        Some(m) => (MASK_THRESHOLD, m.threshold),
    };
    ThicknessConfig {
        width,
        height,
        mask,
        invert: u32::from(params.tone.invert),
        level_lo: lo,
        level_hi: hi,
        gamma: params.tone.gamma,
        threshold,
        base_mm,
        span_mm,
        pitch_mm,
        frame_mm,
        frame_thickness_mm,
        ..Default::default()
    }
}
