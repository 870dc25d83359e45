//! A task's `params`: the CLI's option names in snake_case, checked by the engine's own
//! parameter types so every error names its field.

use lithos_engine::params::{Frame, GridSize, Mask, PhysicalSize, Tone};
use lithos_engine::{
    Bevel, ConvertParams, MaskSource, MeshFormat, Millimetres, Mode, SolidParams, Work, WorkLimits,
};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// What a task makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskMode {
    Relief,
    Lithophane,
    Solid,
}

impl TaskMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskMode::Relief => "relief",
            TaskMode::Lithophane => "lithophane",
            TaskMode::Solid => "solid",
        }
    }
}

/// Options, as `lithos convert` names them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relief_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_thickness_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blur_px: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_levels: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// alpha or threshold.
    #[schema(value_type = Option<String>)]
    pub mask: Option<MaskSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_grid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bevel_mm: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// round or chamfer.
    #[schema(value_type = Option<String>)]
    pub bevel: Option<Bevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inflate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell_mm: Option<f64>,
}

fn mm(field: &str, value: f64) -> ApiResult<Millimetres> {
    Millimetres::new(value).map_err(|message| ApiError::invalid(field, message))
}

fn opt_mm(field: &str, value: Option<f64>) -> ApiResult<Option<Millimetres>> {
    value.map(|v| mm(field, v)).transpose()
}

/// A task request checked against its upload: the engine's parameters, the work they imply,
/// and the cost in credits. The one place a request is judged, for `create` and `quote` alike.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskPlan {
    pub params: ConvertParams,
    pub solid: Option<SolidParams>,
    pub format: MeshFormat,
    pub work: Work,
    pub cost: i64,
}

impl TaskPlan {
    /// Built parameters on a `width` x `height` upload: the pitch checked, the work against
    /// `limits`, and the cost.
    pub fn new(
        params: ConvertParams,
        solid: Option<SolidParams>,
        format: MeshFormat,
        (width, height): (u32, u32),
        limits: &WorkLimits,
    ) -> ApiResult<Self> {
        let (gw, gh) = params.grid_dimensions(width, height);
        params.checked_pitch_mm(gw, gh)?;
        let work = lithos_engine::work::estimate(&params, solid.as_ref(), format, width, height);
        work.check(limits).map_err(|e| ApiError::invalid("params", e.to_string()))?;
        let cost = crate::credits::cost_of(&work);
        Ok(TaskPlan { params, solid, format, work, cost })
    }

    /// The validated request in one canonical form: `42` and `42.0`, or a default left out and
    /// spelled out, give the same text. `Idempotency-Key` compares this, not the raw JSON.
    pub fn fingerprint(&self, upload_id: &str, mode: TaskMode) -> String {
        let canonical = serde_json::json!({
            "upload_id": upload_id,
            "mode": mode.as_str(),
            "params": self.params,
            "solid": self.solid,
            "format": self.format.name(),
        });
        crate::auth::sha256(&canonical.to_string())
    }
}

impl TaskParams {
    /// Checks every field for `mode` and `format`, then the work on a `width` x `height`
    /// upload against `limits`, before anything is charged.
    pub fn plan(
        &self,
        mode: TaskMode,
        format: MeshFormat,
        (width, height): (u32, u32),
        limits: &WorkLimits,
    ) -> ApiResult<TaskPlan> {
        let (params, solid) = self.build(mode, format)?;
        TaskPlan::new(params, solid, format, (width, height), limits)
    }

    /// The engine's parameters for `mode`, every field checked.
    pub fn build(
        &self,
        mode: TaskMode,
        format: MeshFormat,
    ) -> ApiResult<(ConvertParams, Option<SolidParams>)> {
        let foreign = |names: &[(&str, bool)], mode: &str| -> ApiResult<()> {
            match names.iter().find(|(_, given)| *given) {
                Some((name, _)) => {
                    Err(ApiError::invalid(*name, format!("applies only to mode {mode}")))
                }
                None => Ok(()),
            }
        };
        let relief = [("base_mm", self.base_mm.is_some()), ("relief_mm", self.relief_mm.is_some())];
        let lithophane = [
            ("min_mm", self.min_mm.is_some()),
            ("max_mm", self.max_mm.is_some()),
            ("frame_mm", self.frame_mm.is_some()),
            ("frame_thickness_mm", self.frame_thickness_mm.is_some()),
        ];
        let solid = [
            ("depth_mm", self.depth_mm.is_some()),
            ("bevel_mm", self.bevel_mm.is_some()),
            ("bevel", self.bevel.is_some()),
            ("inflate", self.inflate.is_some()),
            ("shell_mm", self.shell_mm.is_some()),
        ];
        let engine_mode = match mode {
            TaskMode::Relief => {
                foreign(&lithophane, "lithophane")?;
                foreign(&solid, "solid")?;
                let Mode::Relief { base_mm, relief_mm } = Mode::relief() else { unreachable!() };
                Mode::Relief {
                    base_mm: opt_mm("base_mm", self.base_mm)?.unwrap_or(base_mm),
                    relief_mm: opt_mm("relief_mm", self.relief_mm)?.unwrap_or(relief_mm),
                }
            }
            TaskMode::Lithophane => {
                foreign(&relief, "relief")?;
                foreign(&solid, "solid")?;
                let Mode::Lithophane { min_mm, max_mm, .. } = Mode::lithophane() else {
                    unreachable!()
                };
                let max_mm = opt_mm("max_mm", self.max_mm)?.unwrap_or(max_mm);
                let frame = match opt_mm("frame_mm", self.frame_mm)? {
                    Some(width_mm) => Some(Frame {
                        width_mm,
                        thickness_mm: opt_mm("frame_thickness_mm", self.frame_thickness_mm)?
                            .unwrap_or(max_mm),
                    }),
                    None => None,
                };
                Mode::Lithophane {
                    min_mm: opt_mm("min_mm", self.min_mm)?.unwrap_or(min_mm),
                    max_mm,
                    frame,
                }
            }
            TaskMode::Solid => {
                foreign(&relief, "relief")?;
                foreign(&lithophane, "lithophane")?;
                Mode::relief()
            }
        };
        if format.is_indexed() && mode != TaskMode::Solid {
            return Err(ApiError::invalid(
                "format",
                "ply and obj are for solids; reliefs and lithophanes are stl",
            ));
        }
        let size = match (self.width_mm, self.pixel_mm) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid("pixel_mm", "give width_mm or pixel_mm, not both"));
            }
            (_, Some(p)) => PhysicalSize::PixelMm(mm("pixel_mm", p)?),
            (Some(w), None) => PhysicalSize::WidthMm(mm("width_mm", w)?),
            (None, None) => ConvertParams::default().size,
        };
        let mask_source = match (self.mask, mode) {
            (Some(source), _) => Some(source),
            (None, TaskMode::Solid) if self.threshold.is_some() => Some(MaskSource::Threshold),
            (None, _) if self.threshold.is_some() => {
                return Err(ApiError::invalid("threshold", "needs mask"));
            }
            (None, _) => None,
        };
        let default_max = if mode == TaskMode::Solid { 1024 } else { GridSize::DEFAULT_MAX };
        let params = ConvertParams {
            mode: engine_mode,
            size,
            grid: GridSize { max: self.max_grid.unwrap_or(default_max), exact: self.grid },
            tone: Tone {
                invert: self.invert.unwrap_or(false),
                blur_px: self.blur_px.unwrap_or(0.0),
                gamma: self.gamma.unwrap_or(1.0),
                auto_levels: self.auto_levels.unwrap_or(false),
            },
            mask: mask_source
                .map(|source| Mask { source, threshold: self.threshold.unwrap_or(0.5) }),
        };
        params.validate()?;
        let solid = if mode == TaskMode::Solid {
            let default = SolidParams::default();
            let solid = SolidParams {
                depth_mm: opt_mm("depth_mm", self.depth_mm)?.unwrap_or(default.depth_mm),
                bevel_mm: self.bevel_mm.unwrap_or(default.bevel_mm),
                bevel: self.bevel.unwrap_or_default(),
                inflate: self.inflate.unwrap_or(false),
                shell_mm: opt_mm("shell_mm", self.shell_mm)?,
            };
            solid.validate()?;
            Some(solid)
        } else {
            None
        };
        Ok((params, solid))
    }
}

impl From<lithos_engine::ParamError> for ApiError {
    fn from(e: lithos_engine::ParamError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

#[cfg(test)]
mod tests {
    use lithos_engine::MAX_SOLID_VOXELS;
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

    fn mode() -> impl Strategy<Value = TaskMode> {
        prop_oneof![Just(TaskMode::Relief), Just(TaskMode::Lithophane), Just(TaskMode::Solid)]
    }

    fn format() -> impl Strategy<Value = MeshFormat> {
        prop_oneof![
            Just(MeshFormat::Stl),
            Just(MeshFormat::StlAscii),
            Just(MeshFormat::Ply),
            Just(MeshFormat::Obj)
        ]
    }

    /// Parameters for `mode`: each of its own fields and the common ones present or not, and
    /// now and then a field of another mode (which must be refused).
    fn params(mode: TaskMode) -> impl Strategy<Value = TaskParams> {
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
                        TaskMode::Relief => (true, stray, stray),
                        TaskMode::Lithophane => (stray, true, stray),
                        TaskMode::Solid => (stray, stray, true),
                    };
                    TaskParams {
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
                        mask: if mode == TaskMode::Solid || stray { mask } else { None },
                        ..TaskParams::default()
                    }
                },
            )
    }

    fn request() -> impl Strategy<Value = (TaskParams, TaskMode, MeshFormat, u32, u32)> {
        mode().prop_flat_map(|mode| {
            // Indexed formats are for solids; other modes mostly ask for STL.
            let format = match mode {
                TaskMode::Solid => format().boxed(),
                _ => prop_oneof![
                    9 => prop_oneof![Just(MeshFormat::Stl), Just(MeshFormat::StlAscii)],
                    1 => format(),
                ]
                .boxed(),
            };
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
            let Ok(plan) = params.plan(mode, format, (width, height), &limits) else {
                return Ok(());
            };
            accepted.set(accepted.get() + 1);
            let (gw, gh) = plan.params.grid_dimensions(width, height);
            prop_assert_eq!(plan.work.grid, [gw, gh]);
            let units: u128 = match &plan.solid {
                Some(solid) => {
                    let pitch = f64::from(plan.params.pitch_mm(gw));
                    let layers = (f64::from(solid.depth_mm.get()) / pitch).ceil();
                    prop_assert!(layers.is_finite() && layers < 1e12, "layers {}", layers);
                    let voxels = u128::from(gw + 4) * u128::from(gh + 4) * (layers as u128 + 4);
                    prop_assert!(voxels <= u128::from(MAX_SOLID_VOXELS), "{} voxels", voxels);
                    voxels.div_ceil(16 << 20)
                }
                None => (u128::from(gw) * u128::from(gh)).div_ceil(1_000_000),
            };
            prop_assert!(plan.cost >= 1 && plan.cost as u128 >= units, "{} < {}", plan.cost, units);
            prop_assert!(plan.work.output_bytes <= limits.max_output_bytes);
            prop_assert!(plan.work.memory_bytes <= limits.max_memory_bytes);
            prop_assert!(plan.work.grid_points <= limits.max_grid_points);
            let pitch = plan.params.pitch_mm(gw);
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
        let params = TaskParams {
            depth_mm: Some(1.0),
            pixel_mm: Some(2.220446049250313e-16),
            bevel_mm: Some(0.0),
            ..TaskParams::default()
        };
        let error = params
            .plan(TaskMode::Solid, MeshFormat::Stl, (60, 60), &WorkLimits::default())
            .unwrap_err();
        assert!(
            matches!(&error, ApiError::Invalid { field, .. } if field == "pixel_mm"),
            "{error}"
        );
        let fine = TaskParams { pixel_mm: Some(0.001), depth_mm: Some(10.0), ..params };
        let small = fine.plan(TaskMode::Solid, MeshFormat::Stl, (60, 60), &WorkLimits::default());
        assert_eq!(small.unwrap().work.voxels, 64 * 64 * 10_004, "a small upload is fine");
        let error = fine
            .plan(TaskMode::Solid, MeshFormat::Stl, (4000, 4000), &WorkLimits::default())
            .unwrap_err();
        assert!(error.to_string().contains("voxels"), "{error}");
    }
}
