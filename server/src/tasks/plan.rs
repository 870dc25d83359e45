//! A task request judged once: the engine's [`Job`] built from the request (every field
//! checked by the engine's job model, each error naming its field), its work on the upload
//! against the limits, and its cost. `create` and `quote` both go through [`TaskPlan`].

use lithos_engine::{InputKind, Job, JobMode, JobRequest, MeshFormat, Work, WorkLimits};

use crate::error::{ApiError, ApiResult};

/// A task request checked against its upload: the job, the work it implies, and the cost in
/// credits.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskPlan {
    pub job: Job,
    pub work: Work,
    pub cost: i64,
}

/// What a task runs on: an image's pixels, a volume's voxels, a 3D file's triangles, or text's
/// field (laid out in its font: the bundled one, or a font upload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Image {
        width: u32,
        height: u32,
    },
    Volume {
        dims: [usize; 3],
    },
    Model {
        triangles: u64,
    },
    Text {
        dims: [usize; 3],
    },
    /// A model the provider makes, at the provider's price, of a prompt (no upload) or of an
    /// upload of `input`.
    Generated {
        input: InputKind,
        credits: i64,
    },
}

/// The most triangles a provider's model is planned at: Meshy's and Tripo's largest.
pub const GENERATED_TRIANGLES: u64 = 300_000;

impl Shape {
    /// What kind of input it is.
    fn input(self) -> InputKind {
        match self {
            Shape::Image { .. } => InputKind::Image,
            Shape::Volume { .. } => InputKind::Volume,
            Shape::Model { .. } => InputKind::Model,
            Shape::Text { .. } => InputKind::Font,
            Shape::Generated { input, .. } => input,
        }
    }
}

impl TaskPlan {
    /// Builds the job for `mode` and `format`, then plans it on an upload of `shape`.
    pub fn new(
        request: &JobRequest,
        mode: JobMode,
        format: Option<MeshFormat>,
        shape: Shape,
        limits: &WorkLimits,
    ) -> ApiResult<Self> {
        Self::for_job(request.build(mode, format)?, shape, limits)
    }

    /// A built job on an upload of `shape`: an image job's pitch checked, a volume job's crop,
    /// the work against `limits`, and the cost.
    pub fn for_job(job: Job, shape: Shape, limits: &WorkLimits) -> ApiResult<Self> {
        let is_volume = job.mode() == JobMode::Volume;
        let wanted = job.mode().input();
        if shape.input() != wanted {
            let takes = |input: InputKind| {
                let modes: Vec<&str> =
                    JobMode::ALL.iter().filter(|m| m.input() == input).map(|m| m.name()).collect();
                modes.join(", ")
            };
            let upload = match shape.input() {
                InputKind::Image => "an image",
                InputKind::Volume => "a volume",
                InputKind::Model => "a 3D file",
                InputKind::Font => "a font",
                InputKind::Prompt => "no upload",
            };
            let needs = match wanted {
                InputKind::Image => "an image upload (PNG, JPEG, WebP, TIFF, BMP or GIF)",
                InputKind::Volume => {
                    "a volume upload (a DICOM series, NIfTI, a TIFF stack, a ZIP of slices, or \
                     raw samples with `raw_dims` and `raw_type`)"
                }
                InputKind::Model => "a 3D file upload (STL, OBJ, PLY, glTF/GLB, 3MF or OFF)",
                InputKind::Font => "no upload, or a font upload (TTF or OTF)",
                InputKind::Prompt => "no upload: the provider makes the model from `prompt`",
            };
            return Err(ApiError::invalid(
                "mode",
                format!(
                    "{} tasks need {needs}; this upload is {upload}, which `mode` {} takes",
                    job.mode(),
                    takes(shape.input())
                ),
            ));
        }
        let work = match shape {
            Shape::Image { width, height } => job.checked_work(width, height)?,
            Shape::Volume { dims } => job.volume_work(dims)?,
            Shape::Model { triangles } => job.model_work(triangles),
            Shape::Text { dims } => job.text_work(dims),
            Shape::Generated { .. } => job.model_work(GENERATED_TRIANGLES),
        };
        let work = work.expect("the job's kind matches the shape");
        work.check(limits).map_err(|e| {
            let message = if is_volume {
                format!(
                    "{}: {} is over the limit of {}; crop the volume (`crop`)",
                    e.what, e.amount, e.limit
                )
            } else {
                e.to_string()
            };
            ApiError::invalid("params", message)
        })?;
        let cost = match shape {
            // The provider's generation is what costs; the repair of its model is in it.
            Shape::Generated { credits, .. } => credits,
            _ => crate::credits::cost_of(&work),
        };
        Ok(TaskPlan { job, work, cost })
    }

    /// The validated request in one canonical form: `42` and `42.0`, or a default left out and
    /// spelled out, give the same text. `Idempotency-Key` compares this, not the raw JSON.
    pub fn fingerprint(&self, upload_id: Option<&str>) -> String {
        let canonical = serde_json::json!({ "upload_id": upload_id, "job": self.job });
        crate::auth::sha256(&canonical.to_string())
    }
}

impl From<lithos_engine::ParamError> for ApiError {
    fn from(e: lithos_engine::ParamError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

#[cfg(test)]
mod tests {
    use lithos_engine::{JobKind, MAX_SOLID_VOXELS, MaskSource};
    use proptest::prelude::*;

    use super::*;

    /// Lengths as people and attackers send them: mostly ordinary ones, and the edges of f64.
    fn length() -> impl Strategy<Value = Option<f64>> {
        let edge = prop_oneof![
            Just(-1.0),
            Just(2.220446049250313e-16),
            Just(1e-40),
            Just(f64::MIN_POSITIVE / 4.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e300),
            Just(0.000_999_9),
            1e-9..1e-3f64,
        ];
        prop::option::of(prop_oneof![
            12 => (-3.0..3.0f64).prop_map(|e| 10f64.powf(e)),
            1 => Just(0.001),
            1 => Just(1000.0),
            1 => Just(0.0),
            3 => edge,
        ])
    }

    fn grid() -> impl Strategy<Value = Option<u32>> {
        prop::option::of(prop_oneof![
            8 => (1.0..16.2f64).prop_map(|e| 2f64.powf(e) as u32),
            1 => Just(0u32),
            1 => Just(65536),
            1 => Just(u32::MAX),
        ])
    }

    fn mode() -> impl Strategy<Value = JobMode> {
        // Volumes are not taken through the API yet.
        prop_oneof![Just(JobMode::Relief), Just(JobMode::Lithophane), Just(JobMode::Solid)]
    }

    fn format() -> impl Strategy<Value = MeshFormat> {
        prop::sample::select(MeshFormat::ALL.to_vec())
    }

    /// Parameters for `mode`: each of its own fields and the common ones present or not, and
    /// now and then a field of another mode (which must be refused).
    fn params(mode: JobMode) -> impl Strategy<Value = JobRequest> {
        let own = |yes: bool, value: Option<f64>| if yes { value } else { None };
        (
            (length(), length(), length(), length()),
            (length(), length(), length(), length()),
            (grid(), grid()),
            prop::option::of(prop_oneof![Just(f32::NAN), Just(1e-40f32), 0.0..10f32]),
            prop::option::of(prop_oneof![Just(MaskSource::Alpha), Just(MaskSource::Threshold)]),
            prop::bool::weighted(0.05),
        )
            .prop_map(
                move |(sizes, thicknesses, (max_grid, grid), bevel_mm, mask, stray)| {
                    let (width_mm, pixel_mm, depth_mm, shell_mm) = sizes;
                    let (base_mm, relief_mm, min_mm, max_mm) = thicknesses;
                    let (relief, lithophane, solid) = match mode {
                        JobMode::Relief => (true, stray, stray),
                        JobMode::Lithophane => (stray, true, stray),
                        JobMode::Solid => (stray, stray, true),
                        JobMode::Volume
                        | JobMode::Mesh
                        | JobMode::Text
                        | JobMode::Prompt
                        | JobMode::Sculpt => {
                            unreachable!("the strategy makes image jobs only")
                        }
                    };
                    JobRequest {
                        // One of the two sizes at most, mostly.
                        width_mm: own(pixel_mm.is_none() || stray, width_mm),
                        pixel_mm,
                        base_mm: own(relief, base_mm),
                        relief_mm: own(relief, relief_mm),
                        min_mm: own(lithophane, min_mm),
                        max_mm: own(lithophane, max_mm),
                        depth_mm: own(solid, depth_mm),
                        shell_mm: own(solid, shell_mm),
                        bevel_mm: if solid { bevel_mm } else { None },
                        max_grid,
                        grid,
                        mask: if mode == JobMode::Solid || stray { mask } else { None },
                        ..JobRequest::default()
                    }
                },
            )
    }

    fn request() -> impl Strategy<Value = (JobRequest, JobMode, MeshFormat, u32, u32)> {
        mode().prop_flat_map(|mode| {
            // Every mode writes every format.
            let format = format();
            let side = (1.0..14.3f64).prop_map(|e| 2f64.powf(e) as u32);
            (params(mode), Just(mode), format, side.clone(), side)
        })
    }

    /// For every request the service accepts, its cost covers its work in cost units (worked
    /// out here again in exact 128-bit and float arithmetic, not through the service's code),
    /// and its estimated output and memory are within the limits. A good share of the cases
    /// must be accepted, or the property says little.
    #[test]
    fn every_accepted_request_pays_for_its_work_and_fits_the_limits() {
        // The strategy's nested unions need more than a test thread's stack unoptimised.
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(check_every_accepted_request)
            .unwrap()
            .join()
            .unwrap();
    }

    fn check_every_accepted_request() {
        let limits = WorkLimits::default();
        let accepted = std::cell::Cell::new(0u32);
        let cases = 20_000;
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases,
            ..ProptestConfig::default()
        });
        let result = runner.run(&request(), |(params, mode, format, width, height)| {
            let shape = Shape::Image { width, height };
            let Ok(plan) = TaskPlan::new(&params, mode, Some(format), shape, &limits) else {
                return Ok(());
            };
            accepted.set(accepted.get() + 1);
            let image = *plan.job.image_params().expect("an image job");
            let (gw, gh) = image.grid_dimensions(width, height);
            prop_assert_eq!(plan.work.grid, [gw, gh]);
            let units: u128 = match &plan.job.kind {
                JobKind::Solid(_, solid) => {
                    let pitch = f64::from(image.pitch_mm(gw));
                    let layers = (f64::from(solid.depth_mm.get()) / pitch).ceil();
                    prop_assert!(layers.is_finite() && layers < 1e12, "layers {}", layers);
                    let voxels = u128::from(gw + 4) * u128::from(gh + 4) * (layers as u128 + 4);
                    prop_assert!(voxels <= u128::from(MAX_SOLID_VOXELS), "{} voxels", voxels);
                    voxels.div_ceil(16 << 20)
                }
                _ => (u128::from(gw) * u128::from(gh)).div_ceil(1_000_000),
            };
            prop_assert!(plan.cost >= 1 && plan.cost as u128 >= units, "{} < {}", plan.cost, units);
            prop_assert!(plan.work.output_bytes <= limits.max_output_bytes);
            prop_assert!(plan.work.memory_bytes <= limits.max_memory_bytes);
            prop_assert!(plan.work.grid_points <= limits.max_grid_points);
            let pitch = image.pitch_mm(gw);
            prop_assert!(pitch >= 1e-3, "pitch {}", pitch);
            prop_assert!(f64::from(pitch) * f64::from(gw.max(gh) - 1) <= 10_000.0);
            Ok(())
        });
        result.unwrap();
        assert!(accepted.get() > cases / 10, "only {} of {cases} accepted", accepted.get());
        eprintln!("{} of {cases} requests accepted", accepted.get());
    }

    #[test]
    fn the_probe_s_request_is_refused_before_it_costs_anything() {
        let params = JobRequest {
            depth_mm: Some(1.0),
            pixel_mm: Some(2.220446049250313e-16),
            bevel_mm: Some(0.0),
            ..JobRequest::default()
        };
        let plan = |params: &JobRequest, (width, height)| {
            let shape = Shape::Image { width, height };
            TaskPlan::new(params, JobMode::Solid, None, shape, &WorkLimits::default())
        };
        let error = plan(&params, (60, 60)).unwrap_err();
        assert!(
            matches!(&error, ApiError::Invalid { field, .. } if field == "pixel_mm"),
            "{error}"
        );
        let fine = JobRequest { pixel_mm: Some(0.001), depth_mm: Some(10.0), ..params };
        let small = plan(&fine, (60, 60));
        assert_eq!(small.unwrap().work.voxels, 64 * 64 * 10_004, "a small upload is fine");
        let error = plan(&fine, (4000, 4000)).unwrap_err();
        assert!(error.to_string().contains("voxels"), "{error}");
    }
}
