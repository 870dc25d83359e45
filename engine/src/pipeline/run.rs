//! [`Engine::run`]: the one entry point. A [`Job`] and its input in, the mesh streamed to a
//! writer, one [`Report`] out.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::check::Check;
use crate::export::Meta;
use crate::job::{Job, JobKind};
use crate::{
    DecodeLimits, Engine, EngineError, ParamError, Progress, Report, Result, SourceImage, Stage,
    StageTime, Volume, decode, export, stl, thumbnail, timed, volume,
};

/// Where a job's input comes from.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// A file, read under `limits` as the `decode` stage: an image, or for volumes a stack,
    /// a DICOM series, a NIfTI file or raw samples.
    File { path: &'a Path, limits: DecodeLimits },
    /// An encoded image in memory, read under `limits` as a file is (the service passes an
    /// upload that [`Job::reads_rows`] so).
    Encoded { bytes: &'a [u8], limits: DecodeLimits },
    /// An image the caller decoded (the service decodes within its memory budget).
    Image(&'a SourceImage),
    /// A volume the caller read (the service reads it within its memory budget).
    Volume(&'a Volume),
    /// Nothing: a text job sets its text in the bundled font. (Given a `File` or `Encoded`
    /// input, it reads that as its font.)
    None,
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::File { path, .. } => write!(f, "File({})", path.display()),
            Input::Encoded { bytes, .. } => write!(f, "Encoded({} bytes)", bytes.len()),
            Input::Image(image) => write!(f, "Image({} x {})", image.width(), image.height()),
            Input::Volume(volume) => write!(f, "Volume({:?})", volume.dims),
            Input::None => f.write_str("None"),
        }
    }
}

impl Job {
    /// Whether this job reads `input` a row at a time onto its grid, in memory that follows
    /// the grid rather than the image: a relief's or lithophane's PNG (not interlaced), TIFF in
    /// chunky strips or tiles, or sequential JPEG, larger than its grid. Anything else is
    /// decoded whole first.
    pub fn reads_rows(&self, input: Input<'_>) -> bool {
        matches!(rows_of(self, input), Ok(Some(_)))
    }
}

/// `input` opened for reading a row at a time, when `job` reads it so ([`Job::reads_rows`]).
/// Opening it reads the header only.
fn rows_of<'a>(job: &Job, input: Input<'a>) -> Result<Option<crate::banded::Rows<'a>>> {
    let (JobKind::Relief(params) | JobKind::Lithophane(params)) = &job.kind else {
        return Ok(None);
    };
    let rows = match input {
        Input::File { path, limits } => crate::banded::open(path, limits)?,
        Input::Encoded { bytes, limits } => crate::banded::open_bytes(bytes, limits)?,
        Input::Image(_) | Input::Volume(_) | Input::None => None,
    };
    Ok(rows.filter(|rows| {
        let (gw, gh) = params.grid_dimensions(rows.width(), rows.height());
        u64::from(rows.width()) * u64::from(rows.height()) > u64::from(gw) * u64::from(gh)
    }))
}

impl Engine {
    /// Runs `job` on `input`, streaming the mesh to `out`, which the caller commits only when
    /// this returns `Ok`. On a GPU that has timestamp queries the report carries each kernel's
    /// time (summed over this engine's passes while it ran: conversions sharing one engine at
    /// once share them).
    pub fn run<W: Write + Send>(
        &self,
        job: &Job,
        input: Input<'_>,
        out: W,
        progress: &dyn Progress,
    ) -> Result<Report> {
        self.backend.take_kernel_times()?;
        let mut report = self.convert(job, input, out, progress)?;
        report.kernels = self
            .backend
            .take_kernel_times()?
            .into_iter()
            .map(|(kernel, seconds)| crate::KernelTime { kernel, seconds })
            .collect();
        Ok(report)
    }

    fn convert<W: Write + Send>(
        &self,
        job: &Job,
        input: Input<'_>,
        out: W,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        let mut times = Vec::new();
        let (params, solid) = match &job.kind {
            JobKind::Mesh(params) | JobKind::Sculpt(params) => {
                return self.convert_model(job, params, input, out, progress);
            }
            // The model the provider generated, read as the 3D file it is.
            JobKind::Prompt(p) => return self.convert_model(job, &p.mesh, input, out, progress),
            JobKind::Text(params) => return self.convert_text(job, params, input, out, progress),
            JobKind::Volume(params, source) => {
                let loaded;
                let volume = match input {
                    Input::File { path, limits } => {
                        loaded = timed(Stage::Decode, progress, &mut times, || {
                            volume::load_part(path, *source, params.part(), limits)
                        })?;
                        &loaded
                    }
                    Input::Volume(volume) => volume,
                    Input::Image(_) | Input::Encoded { .. } | Input::None => {
                        return Err(EngineError::InvalidParameter(ParamError::new(
                            "mode",
                            "a volume is read from a file (a stack, DICOM, NIfTI or raw), not \
                             an image",
                        )));
                    }
                };
                let (mesh, iso) = self.volume(volume, params, progress, &mut times)?;
                let dims =
                    params.crop.map_or(volume.dims, |c| [0, 1, 2].map(|k| c.hi[k] - c.lo[k]));
                return self.indexed_report(
                    start,
                    &mesh,
                    job,
                    out,
                    progress,
                    times,
                    dims,
                    Some(iso),
                );
            }
            JobKind::Relief(params) | JobKind::Lithophane(params) => (params, None),
            JobKind::Solid(params, solid) => (params, Some(solid)),
        };
        // A PNG, TIFF or baseline JPEG larger than its grid is read a row at a time onto the grid, in
        // memory that follows the grid rather than the image. Its reading is timed with the
        // resample stage.
        if let Some(rows) = rows_of(job, input)? {
            let source = super::heightfield::Source::Rows(rows);
            let (hf, plan) = self.heightfield_from(source, params, progress, &mut times)?;
            return self.heightfield_report(start, job, params, hf, plan, out, progress, times);
        }
        let decoded;
        let image = match input {
            Input::File { path, limits } => {
                decoded = timed(Stage::Decode, progress, &mut times, || {
                    decode::decode_file(path, limits)
                })?;
                &decoded
            }
            Input::Encoded { bytes, limits } => {
                decoded = timed(Stage::Decode, progress, &mut times, || {
                    decode::decode_bytes(bytes, limits)
                })?;
                &decoded
            }
            Input::Image(image) => image,
            Input::Volume(_) => {
                return Err(EngineError::InvalidParameter(ParamError::new(
                    "mode",
                    "an image mode takes an image, not a volume; use `mode` volume",
                )));
            }
            Input::None => {
                return Err(EngineError::InvalidParameter(ParamError::new(
                    "mode",
                    "an image mode takes an image; only `mode` text needs no input",
                )));
            }
        };
        let Some(solid) = solid else {
            let (hf, plan) = self.planned_heightfield(image, params, progress, &mut times)?;
            return self.heightfield_report(start, job, params, hf, plan, out, progress, times);
        };
        let (gw, gh) = params.grid_dimensions(image.width(), image.height());
        let mesh = self.solid(image, params, solid, progress, &mut times)?;
        let layers = crate::work::solid_layers(solid.depth_mm.get(), params.pitch_mm(gw));
        let dims = [gw as usize, gh as usize, usize::try_from(layers).unwrap_or(usize::MAX)];
        self.indexed_report(start, &mesh, job, out, progress, times, dims, None)
    }

    /// The mesh of a relief's or lithophane's `hf` written to `out` (with its thumbnail), and
    /// its report.
    #[expect(clippy::too_many_arguments, reason = "the parts of one report")]
    fn heightfield_report<W: Write + Send>(
        &self,
        start: Instant,
        job: &Job,
        params: &crate::ConvertParams,
        hf: crate::Heightfield,
        plan: Option<crate::palette::Plan>,
        out: W,
        progress: &dyn Progress,
        mut times: Vec<StageTime>,
    ) -> Result<Report> {
        let format = job.format;
        let (stats, thumbnail, check) = self.thumbnail_and_write(
            job,
            progress,
            &mut times,
            || thumbnail::heightfield_triangles(&hf),
            || Check::of_heightfield(&hf),
            |meta| {
                let changes = plan.as_ref().map(|p| p.colour_changes()).unwrap_or_default();
                let meta = Meta { colour_changes: changes, ..meta.clone() };
                self.write_mesh_with(&hf, format, &meta, out, progress)
            },
        )?;
        let preview = |plan: &crate::palette::Plan| plan.preview(&hf, crate::backlit::MAX_SIDE);
        Ok(Report {
            triangles: stats.triangles,
            bytes: stats.bytes,
            format,
            backend: self.backend(),
            adapter: self.adapter.clone(),
            seconds: start.elapsed().as_secs_f64(),
            stages: times,
            grid: [hf.width, hf.height],
            size_mm: hf.size_mm(),
            vertices: None,
            voxels: None,
            iso: None,
            backlit: job.backlit.then(|| crate::backlit::backlit(&hf, &params.mode)).flatten(),
            thumbnail: Some(thumbnail),
            swaps: plan.as_ref().map(|p| p.swaps()).unwrap_or_default(),
            colours: plan.as_ref().filter(|_| job.backlit).map(preview),
            kernels: Vec::new(),
            check,
            model: None,
        })
    }

    /// Renders the thumbnail of `triangles()` (the thumbnail stage), writes the mesh with
    /// `write` (the mesh stage) and checks it with `check` (the check stage), failing with
    /// [`EngineError::FailedCheck`] when it is not printable: the caller then discards what
    /// was written. The check runs beside the writing, and for formats other than 3MF (which
    /// carries the thumbnail, so renders it first) so does the thumbnail, so that spare cores
    /// hide their time; their stages' times are what they added, the waits for them once the
    /// mesh was written (stages never overlap in the report, so they add up to at most the
    /// run).
    fn thumbnail_and_write<T>(
        &self,
        job: &Job,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
        triangles: impl FnOnce() -> Vec<thumbnail::Shaded> + Send,
        check: impl FnOnce() -> Result<Check> + Send,
        write: impl FnOnce(&Meta) -> Result<T>,
    ) -> Result<(T, Vec<u8>, Check)> {
        let render = || self.thumbnail(&triangles()).map(|image| thumbnail::png(&image));
        let panicked = |what: &str| EngineError::Gpu(format!("the {what} panicked"));
        std::thread::scope(|scope| {
            let checking = scope.spawn(check);
            let (meta, rendering) = if job.format == crate::MeshFormat::ThreeMf {
                let png = timed(Stage::Thumbnail, progress, times, render)?;
                (Meta { thumbnail: Some(png), ..job.meta() }, None)
            } else {
                progress.check_canceled()?;
                progress.stage(Stage::Thumbnail);
                (job.meta(), Some(scope.spawn(render)))
            };
            let mut mesh_times = Vec::new();
            let written = timed(Stage::Mesh, progress, &mut mesh_times, || write(&meta));
            let waiting = Instant::now();
            let png = match rendering {
                Some(rendering) => {
                    let png =
                        rendering.join().unwrap_or_else(|_| Err(panicked("thumbnail renderer")));
                    times.push(StageTime {
                        stage: Stage::Thumbnail,
                        seconds: waiting.elapsed().as_secs_f64(),
                    });
                    png
                }
                None => Ok(meta.thumbnail.clone().expect("rendered above")),
            };
            times.append(&mut mesh_times);
            let written = written?;
            let png = png?;
            progress.stage(Stage::Check);
            let waiting = Instant::now();
            let check = checking.join().unwrap_or_else(|_| {
                Err(EngineError::FailedCheck { problems: "the check itself panicked".into() })
            })?;
            times.push(StageTime { stage: Stage::Check, seconds: waiting.elapsed().as_secs_f64() });
            if let Some(problems) = check.problems() {
                return Err(EngineError::FailedCheck { problems });
            }
            Ok((written, png, check))
        })
    }

    /// A thumbnail of `triangles` ([`thumbnail`]), rendered on this engine's backend.
    pub fn thumbnail(&self, triangles: &[thumbnail::Shaded]) -> Result<image::RgbaImage> {
        thumbnail::render(&self.backend, triangles)
    }

    /// Runs `job` into the file at `output`, which is replaced only on success.
    pub fn run_to_file(
        &self,
        job: &Job,
        input: Input<'_>,
        output: &Path,
        progress: &dyn Progress,
    ) -> Result<Report> {
        stl::write_file_atomically(output, |file| self.run(job, input, file, progress))
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one report")]
    pub(super) fn indexed_report<W: Write>(
        &self,
        start: Instant,
        mesh: &crate::IndexedMesh,
        job: &Job,
        out: W,
        progress: &dyn Progress,
        mut times: Vec<StageTime>,
        dims: [usize; 3],
        iso: Option<f32>,
    ) -> Result<Report> {
        let (stats, thumbnail, check) = self.thumbnail_and_write(
            job,
            progress,
            &mut times,
            || thumbnail::mesh_triangles(mesh),
            || Ok(Check::of_mesh(&mesh.positions, &mesh.triangles)),
            |meta| {
                if mesh.triangles.is_empty() {
                    return Err(EngineError::EmptySurface);
                }
                export::write_indexed_with(mesh, job.format, meta, out)
                    .map_err(EngineError::WriteOutput)
            },
        )?;
        let (lo, hi) = mesh.bounds();
        Ok(Report {
            triangles: stats.triangles,
            bytes: stats.bytes,
            format: job.format,
            backend: self.backend(),
            adapter: self.adapter.clone(),
            seconds: start.elapsed().as_secs_f64(),
            stages: times,
            grid: [dims[0] as u32, dims[1] as u32],
            size_mm: [0, 1, 2].map(|k| hi[k] - lo[k]),
            vertices: Some(mesh.positions.len() as u64),
            voxels: Some(dims.map(|d| d as u32)),
            iso,
            backlit: None,
            thumbnail: Some(thumbnail),
            swaps: Vec::new(),
            colours: None,
            kernels: Vec::new(),
            check,
            model: None,
        })
    }
}
