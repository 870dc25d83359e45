//! A task's `params`: the CLI's option names in snake_case, checked by the engine's own
//! parameter types so every error names its field.

use lithos_engine::params::{Frame, GridSize, Mask, PhysicalSize, Tone};
use lithos_engine::{Bevel, ConvertParams, MaskSource, MeshFormat, Millimetres, Mode, SolidParams};
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

/// A mesh format as the API names it.
pub fn parse_format(format: &str) -> ApiResult<MeshFormat> {
    match format {
        "stl" => Ok(MeshFormat::Stl),
        "stl-ascii" => Ok(MeshFormat::StlAscii),
        "ply" => Ok(MeshFormat::Ply),
        "obj" => Ok(MeshFormat::Obj),
        _ => Err(ApiError::invalid("format", "must be stl, stl-ascii, ply or obj")),
    }
}

impl TaskParams {
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
