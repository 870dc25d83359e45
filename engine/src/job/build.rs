//! [`JobRequest::build`]: every field checked once for its mode, into a typed [`Job`].

use super::field::Shown;
use super::{Job, JobKind, JobMode, JobRequest, defaults, field};
use crate::params::{Detail, Frame, GridSize, Light, Mask, PhysicalSize, ThicknessModel, Tone};
use crate::params::{Shape, ShapeKind};
use crate::text::TextParams;
use crate::volume::{Crop, IsoValue};
use crate::{ConvertParams, MaskSource, MeshFormat, Millimetres, Mode, ParamError, SolidParams};
use crate::{VolumeParams, VolumeSource};

fn mm(field: &'static str, value: Option<f64>) -> Result<Option<Millimetres>, ParamError> {
    value
        .map(|v| Millimetres::new(v).map_err(|message| ParamError::new(field, message)))
        .transpose()
}

/// Refuses the first of `given`'s fields that was given, as it means nothing without `needs`.
fn only_with(needs: &str, given: [(&'static str, bool); 2]) -> Result<(), ParamError> {
    match given.into_iter().find(|&(_, given)| given) {
        Some((name, _)) => Err(ParamError::new(name, format!("needs `{needs}`"))),
        None => Ok(()),
    }
}

/// `value` within the bounds the table gives field `name` (and so finite).
fn within(name: &'static str, value: f64) -> Result<f64, ParamError> {
    let (lo, hi) = field(name).and_then(|f| f.range).expect("a bounded field");
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(ParamError::new(name, format!("must be {lo} to {hi}, got {value}")))
    }
}

impl JobRequest {
    /// Checks every field for `mode` and `format` (the mode's default when `None`) and builds
    /// the job; the first problem found is returned, naming its field.
    pub fn build(&self, mode: JobMode, format: Option<MeshFormat>) -> Result<Job, ParamError> {
        for (name, given) in self.given() {
            let field = field(name).expect("every request field is in the table");
            if given && !field.modes.contains(&mode) {
                return Err(ParamError::new(
                    field.name,
                    format!("applies only to `mode` {}", JobMode::list(field.modes)),
                ));
            }
        }
        let format = format.unwrap_or(mode.default_format());
        let kind = match mode {
            JobMode::Relief => JobKind::Relief(self.image_params(mode)?),
            JobMode::Lithophane => JobKind::Lithophane(self.image_params(mode)?),
            JobMode::Solid => {
                let params = self.image_params(mode)?;
                let default = SolidParams::default();
                let solid = SolidParams {
                    depth_mm: mm("depth_mm", self.depth_mm)?.unwrap_or(default.depth_mm),
                    bevel_mm: self.bevel_mm.unwrap_or(default.bevel_mm),
                    bevel: self.bevel.unwrap_or(default.bevel),
                    inflate: self.inflate.unwrap_or(default.inflate),
                    shell_mm: mm("shell_mm", self.shell_mm)?,
                };
                solid.validate()?;
                JobKind::Solid(params, solid)
            }
            JobMode::Volume => {
                let params = VolumeParams {
                    iso: self.iso.map(IsoValue::value),
                    spacing_mm: self.spacing_mm,
                    smooth_voxels: self.smooth_vox.unwrap_or(defaults::SMOOTH_VOX as f32),
                    crop: self
                        .crop
                        .map(|c| Crop { lo: [c[0], c[1], c[2]], hi: [c[3], c[4], c[5]] }),
                    largest_component: self.largest_component.unwrap_or(false),
                    frame: self.frame.unwrap_or(0) as usize,
                    series: self.series,
                };
                params.validate()?;
                let source = match (self.raw_dims, self.raw_type) {
                    (Some(dims), Some(sample)) => VolumeSource::Raw { dims, sample },
                    (None, None) => VolumeSource::Detect,
                    (Some(_), None) => return Err(ParamError::new("raw_dims", "needs `raw_type`")),
                    (None, Some(_)) => return Err(ParamError::new("raw_type", "needs `raw_dims`")),
                };
                JobKind::Volume(params, source)
            }
            JobMode::Mesh => JobKind::Mesh(self.mesh_params(mode)?),
            JobMode::Prompt => {
                let prompt = self.prompt.clone().ok_or_else(|| {
                    ParamError::new("prompt", "is required: the object to make, in words")
                })?;
                let mesh = self.mesh_params(mode)?;
                JobKind::Prompt(Box::new(crate::model::PromptParams { prompt, mesh }))
            }
            JobMode::Sculpt => JobKind::Sculpt(self.mesh_params(mode)?),
            JobMode::Text => JobKind::Text(Box::new(self.text_params()?)),
        };
        Ok(Job { kind, format, backlit: false })
    }

    /// A 3D file's options: for a file, and for the model a provider generated from a prompt
    /// or a photo (which is placed on the bed, centred, in a 6 cm cube unless asked
    /// otherwise).
    fn mesh_params(&self, mode: JobMode) -> Result<crate::model::MeshParams, ParamError> {
        let default = crate::model::MeshParams::default();
        let repair = match self.repair.unwrap_or(true) {
            true => Some(crate::model::RepairParams {
                weld_mm: self.weld_mm.map_or(defaults::WELD_MM as f32, |v| v as f32),
                min_shell_mm3: self.min_shell_mm3.unwrap_or(defaults::MIN_SHELL_MM3),
            }),
            false => {
                let given = [
                    ("weld_mm", self.weld_mm.is_some()),
                    ("min_shell_mm3", self.min_shell_mm3.is_some()),
                ];
                only_with("repair", given)?;
                None
            }
        };
        // The table's mode defaults (`x-mode-defaults`): a generated model has no size of
        // its own, so it is fitted, centred and put on the bed.
        let generated = mode.is_generated();
        let hollow = match self.hollow_mm {
            Some(wall_mm) => Some(crate::model::HollowParams {
                wall_mm: within("hollow_mm", wall_mm)?,
                drain_mm: within("drain_mm", self.drain_mm.unwrap_or(defaults::DRAIN_MM))?,
                drains: within(
                    "drain_holes",
                    f64::from(self.drain_holes.unwrap_or(defaults::DRAIN_HOLES as u32)),
                )? as u32,
            }),
            None => {
                let given = [
                    ("drain_mm", self.drain_mm.is_some()),
                    ("drain_holes", self.drain_holes.is_some()),
                ];
                only_with("hollow_mm", given)?;
                None
            }
        };
        let params = crate::model::MeshParams {
            units: self.units.unwrap_or(default.units),
            repair,
            scale: self.scale.unwrap_or(default.scale),
            fit_mm: self.fit_mm.or(generated.then_some([defaults::PROMPT_FIT_MM as f32; 3])),
            center: self.center.unwrap_or(generated || default.center),
            drop: self.drop.unwrap_or(generated || default.drop),
            hollow,
        };
        params.validate()?;
        Ok(params)
    }

    /// A text job's parameters: `text` is required, the rest have defaults.
    fn text_params(&self) -> Result<TextParams, ParamError> {
        let text = self.text.ok_or_else(|| {
            ParamError::new("text", "is required: the words to make, one or more lines")
        })?;
        use defaults::*;
        let length = |name: &'static str, value: Option<f64>, default: f64| {
            Millimetres::new(value.unwrap_or(default))
                .map(|m| m.get())
                .map_err(|message| ParamError::new(name, message))
        };
        // Within the bounds the table gives (and so finite): a letter spacing of 1e300 would
        // put letters at infinity.
        let bounded = |name: &'static str, value: Option<f64>, default: f64| {
            within(name, value.unwrap_or(default)).map(|v| v as f32)
        };
        let solid = SolidParams {
            depth_mm: mm("depth_mm", Some(self.depth_mm.unwrap_or(TEXT_DEPTH_MM)))?.expect("given"),
            bevel_mm: self.bevel_mm.unwrap_or(TEXT_BEVEL_MM as f32),
            bevel: self.bevel.unwrap_or_default(),
            inflate: self.inflate.unwrap_or(false),
            shell_mm: mm("shell_mm", self.shell_mm)?,
        };
        let params = TextParams {
            text,
            layout: self.layout.unwrap_or_default(),
            letter_height_mm: bounded("letter_height_mm", self.letter_height_mm, LETTER_HEIGHT_MM)?,
            letter_spacing_mm: bounded("letter_spacing_mm", self.letter_spacing_mm, 0.0)?,
            line_spacing: bounded("line_spacing", self.line_spacing, LINE_SPACING)?,
            align: self.align.unwrap_or_default(),
            solid,
            plate_mm: length("plate_mm", self.plate_mm, PLATE_MM)?,
            margin_mm: length("margin_mm", self.margin_mm, MARGIN_MM)?,
            hole_mm: length("hole_mm", self.hole_mm, HOLE_MM)?,
            border_mm: length("border_mm", self.border_mm, BORDER_MM)?,
            pitch_mm: mm("pixel_mm", self.pixel_mm)?.map(|m| m.get()),
        };
        params.validate()?;
        Ok(params)
    }

    /// The shape of a relief or lithophane: the options of another shape are refused by
    /// name, not ignored.
    fn shape(&self) -> Result<Shape, ParamError> {
        let kind = self.shape.unwrap_or(ShapeKind::Flat);
        // A field of another shape than the one asked for is named (the fields say whose).
        let given: Vec<_> =
            self.given().filter(|(_, given)| *given).map(|(name, _)| name).collect();
        for name in given {
            if let Some(needs) = field(name).and_then(|f| f.shape)
                && needs != kind
            {
                return Err(ParamError::new(name, format!("needs `shape` {needs}")));
            }
        }
        let length = |name, value| Ok::<_, ParamError>(mm(name, value)?.map_or(0.0, |m| m.get()));
        Ok(match kind {
            ShapeKind::Flat => {
                let outline = self.outline.unwrap_or_default();
                let hanger_mm = length("hanger_mm", self.hanger_mm)?;
                let feet = self.feet.unwrap_or(false);
                if feet && (outline != crate::params::Outline::Rect || hanger_mm > 0.0) {
                    return Err(ParamError::new(
                        "feet",
                        "stand a rectangular panel; leave out `outline` and `hanger_mm`, which \
                         are for panels that lie flat or hang",
                    ));
                }
                Shape::Flat { outline, hanger_mm, feet }
            }
            ShapeKind::Arc => {
                let degrees = self.arc_deg.unwrap_or(defaults::ARC_DEG);
                if !(1.0..=359.0).contains(&degrees) {
                    return Err(ParamError::new(
                        "arc_deg",
                        format!(
                            "must be 1 to 359 degrees, got {degrees}; for a closed ring use \
                             `shape` cylinder"
                        ),
                    ));
                }
                Shape::Arc { degrees: degrees as f32, inner: self.arc_inner.unwrap_or(false) }
            }
            ShapeKind::Dome => {
                let degrees = self.dome_deg.unwrap_or(defaults::DOME_DEG);
                if !(10.0..=180.0).contains(&degrees) {
                    return Err(ParamError::new(
                        "dome_deg",
                        format!(
                            "must be 10 to 180 degrees, got {degrees}; beyond a hemisphere the \
                             dome would overhang its own rim"
                        ),
                    ));
                }
                Shape::Dome { degrees: degrees as f32 }
            }
            ShapeKind::Cylinder => {
                let bottom_ring_mm = length("ring_mm", self.ring_mm)?;
                let socket_mm = length("socket_mm", self.socket_mm)?;
                if socket_mm > 0.0 && bottom_ring_mm == 0.0 {
                    return Err(ParamError::new(
                        "socket_mm",
                        "needs a bottom ring to make the plate of: give `ring_mm` (3 mm is sturdy)",
                    ));
                }
                Shape::Cylinder {
                    bottom_ring_mm,
                    top_ring_mm: length("top_ring_mm", self.top_ring_mm)?,
                    socket_mm,
                }
            }
        })
    }

    /// How closely the top surface follows the grid: `max_error_mm` or `max_triangles`.
    fn detail(&self) -> Result<Detail, ParamError> {
        Ok(match (self.max_error_mm, self.max_triangles) {
            (Some(_), Some(_)) => {
                return Err(ParamError::new(
                    "max_triangles",
                    "give `max_error_mm` or `max_triangles`, not both",
                ));
            }
            (_, Some(n)) => Detail::MaxTriangles(n.into()),
            (Some(0.0), None) => Detail::Full,
            (Some(mm), None) => Detail::MaxErrorMm(mm as f32),
            (None, None) => Detail::default(),
        })
    }

    /// A relief's heights: `base_mm` and `relief_mm`, or with a `palette`, whole layers.
    fn relief(&self) -> Result<Mode, ParamError> {
        use crate::palette::{LAYER_MM, Layers};
        use defaults::*;
        let base_mm = mm("base_mm", self.base_mm)?;
        let length = |v: f64| Millimetres::new(v).expect("every default length is valid");
        let relief = mm("relief_mm", self.relief_mm)?.unwrap_or(length(RELIEF_MM));
        let Some(palette) = self.palette else {
            for (name, given) in
                [("layer_mm", self.layer_mm.is_some()), ("base_layers", self.base_layers.is_some())]
            {
                if given {
                    return Err(ParamError::new(name, "needs `palette`"));
                }
            }
            return Ok(Mode::Relief {
                base_mm: base_mm.unwrap_or(length(BASE_MM)),
                relief_mm: relief,
                layers: None,
            });
        };
        let layer_mm = self.layer_mm.unwrap_or(PALETTE_LAYER_MM) as f32;
        if !(LAYER_MM.0..=LAYER_MM.1).contains(&layer_mm) {
            return Err(ParamError::new(
                "layer_mm",
                format!("must be {} to {} mm, got {layer_mm} mm", LAYER_MM.0, LAYER_MM.1),
            ));
        }
        let base_layers = match (base_mm, self.base_layers) {
            (Some(_), Some(_)) => {
                return Err(ParamError::new(
                    "base_layers",
                    "give `base_mm` or `base_layers`, not both",
                ));
            }
            (_, Some(layers)) => layers,
            (base_mm, None) => {
                let base = base_mm.map_or(BASE_MM as f32, |m| m.get());
                ((base / layer_mm).round() as u32).max(1)
            }
        };
        let relief_layers = (relief.get() / layer_mm).round() as u32;
        if relief_layers == 0 {
            return Err(ParamError::new(
                "relief_mm",
                format!("must be at least a layer (`layer_mm` {layer_mm} mm) with a `palette`"),
            ));
        }
        let whole = |name, layers: u32| {
            Millimetres::new(f64::from(layers as f32 * layer_mm))
                .map_err(|message| ParamError::new(name, message))
        };
        Ok(Mode::Relief {
            base_mm: whole("base_layers", base_layers)?,
            relief_mm: whole("relief_mm", relief_layers)?,
            layers: Some(Layers { palette, layer_mm, base_layers, relief_layers }),
        })
    }

    /// The parameters of an image job in `mode`, checked.
    fn image_params(&self, mode: JobMode) -> Result<ConvertParams, ParamError> {
        use defaults::*;
        let length = |v: f64| Millimetres::new(v).expect("every default length is valid");
        let mode_params = match mode {
            JobMode::Relief => self.relief()?,
            JobMode::Lithophane => {
                let max_mm = mm("max_mm", self.max_mm)?.unwrap_or(length(MAX_MM));
                let thickness = mm("frame_thickness_mm", self.frame_thickness_mm)?;
                let frame = match (mm("frame_mm", self.frame_mm)?, thickness) {
                    (Some(width_mm), thickness) => {
                        Some(Frame { width_mm, thickness_mm: thickness.unwrap_or(max_mm) })
                    }
                    (None, Some(_)) => {
                        return Err(ParamError::new("frame_thickness_mm", "needs `frame_mm`"));
                    }
                    (None, None) => None,
                };
                let td_mm = mm("td_mm", self.td_mm)?;
                let light = match (self.thickness_model.unwrap_or(ThicknessModel::Linear), td_mm) {
                    (ThicknessModel::Linear, None) => Light::Linear,
                    (ThicknessModel::Linear, Some(_)) => {
                        return Err(ParamError::new(
                            "td_mm",
                            "needs `thickness_model` transmittance",
                        ));
                    }
                    (ThicknessModel::Transmittance, td_mm) => {
                        let td_mm = td_mm.unwrap_or(length(TD_MM));
                        if td_mm.get() <= 0.0 {
                            return Err(ParamError::new("td_mm", "must be above 0 mm"));
                        }
                        Light::Transmittance { td_mm }
                    }
                };
                Mode::Lithophane {
                    min_mm: mm("min_mm", self.min_mm)?.unwrap_or(length(MIN_MM)),
                    max_mm,
                    frame,
                    light,
                }
            }
            // A solid's thickness map is not used; its shape is the mask.
            JobMode::Solid
            | JobMode::Volume
            | JobMode::Mesh
            | JobMode::Text
            | JobMode::Prompt
            | JobMode::Sculpt => Mode::relief(),
        };
        let size = match (mm("width_mm", self.width_mm)?, mm("pixel_mm", self.pixel_mm)?) {
            (Some(_), Some(_)) => {
                return Err(ParamError::new("pixel_mm", "give `width_mm` or `pixel_mm`, not both"));
            }
            (_, Some(pixel)) => PhysicalSize::PixelMm(pixel),
            (Some(width), None) => PhysicalSize::WidthMm(width),
            (None, None) => PhysicalSize::WidthMm(length(WIDTH_MM)),
        };
        let mask_source = match (self.mask, mode) {
            (Some(source), _) => Some(source),
            (None, JobMode::Solid) if self.threshold.is_some() => Some(MaskSource::Threshold),
            (None, _) if self.threshold.is_some() => {
                return Err(ParamError::new("threshold", "needs `mask`"));
            }
            (None, _) => None,
        };
        let max_grid = match field("max_grid").and_then(|f| f.default_in(mode)) {
            Some(Shown::Integer(n)) => u32::try_from(n).unwrap_or(GridSize::DEFAULT_MAX),
            _ => GridSize::DEFAULT_MAX,
        };
        let params = ConvertParams {
            mode: mode_params,
            size,
            grid: GridSize { max: self.max_grid.unwrap_or(max_grid), exact: self.grid },
            tone: Tone {
                invert: self.invert.unwrap_or(false),
                blur_px: self.blur_px.unwrap_or(BLUR_PX as f32),
                gamma: self.gamma.unwrap_or(GAMMA as f32),
                auto_levels: self.auto_levels.unwrap_or(false),
            },
            mask: mask_source.map(|source| Mask {
                source,
                threshold: self.threshold.unwrap_or(THRESHOLD as f32),
            }),
            shape: self.shape()?,
            detail: self.detail()?,
        };
        let dome = matches!(params.shape, Shape::Dome { .. });
        if dome && (self.max_triangles.is_some() || self.max_error_mm > Some(0.0)) {
            let field = if self.max_triangles.is_some() { "max_triangles" } else { "max_error_mm" };
            return Err(ParamError::new(
                field,
                "applies to flat panels, arcs, cylinders and panels on feet; a dome is meshed \
                 on its full grid",
            ));
        }
        if params.shape.is_bent() && self.palette.is_some() {
            return Err(ParamError::new(
                "palette",
                "applies to flat panels that lie flat, since colours change by height above \
                 the bed; an arc, a cylinder, a dome or a panel on feet is one colour",
            ));
        }
        if params.shape.is_bent() && params.mask.is_some() {
            return Err(ParamError::new(
                "mask",
                "applies to flat panels that lie flat; an arc, a cylinder or a panel on feet is \
                 the whole image",
            ));
        }
        params.validate()?;
        Ok(params)
    }
}
