//! The job model: one request type for the CLI, the API, the worker and the web form, and one
//! build step that turns it into a checked, typed [`Job`].
//!
//! - [`JobRequest`] is the flat set of options, every one optional. Its fields, their help,
//!   units, bounds, defaults and the modes they apply to are declared once, in
//!   [`request`]'s table ([`FIELDS`]). The `cli` feature makes clap arguments of them; the
//!   `schema` feature makes them an OpenAPI schema, which the web form renders.
//! - [`JobRequest::build`] checks each field once. Its errors name the field as the API does
//!   (`max_grid`) and quote other names in backticks, so the CLI can show them as flags.
//! - A [`Job`] knows its facts: its stages, its work (and so its cost units), its format.
//!   [`crate::Engine::run`] runs it.

#[cfg(feature = "cli")]
pub mod cli;
mod preview;
mod request;
#[cfg(feature = "schema")]
pub mod schema;

use serde::{Deserialize, Serialize};

pub use preview::{PREVIEW_GRID, PREVIEW_SOURCE, expected_triangles};
pub use request::{FIELDS, Field, FieldValue, IMAGE, JobRequest, Shown, ValueType, field};

use crate::params::{Detail, Frame, GridSize, Light, Mask, PhysicalSize, ThicknessModel, Tone};
use crate::params::{Shape, ShapeKind};
use crate::progress::{HEIGHTFIELD_STAGES, MESH_STAGES, SOLID_STAGES, Stage, VOLUME_STAGES};
use crate::volume::{Crop, IsoValue};
use crate::{
    ConvertParams, MaskSource, MeshFormat, Millimetres, Mode, ParamError, SolidParams,
    VolumeParams, VolumeSource, Work,
};

/// Every default, once: the request's table shows them and the build applies them.
pub mod defaults {
    pub const WIDTH_MM: f64 = 100.0;
    pub const BASE_MM: f64 = 2.0;
    pub const RELIEF_MM: f64 = 3.0;
    pub const MIN_MM: f64 = 0.8;
    pub const MAX_MM: f64 = 3.2;
    /// A typical white PLA's transmission distance (measure your own spool).
    pub const TD_MM: f64 = 3.0;
    /// An arc's bend: a third of a circle, a panel that stands on its own.
    pub const ARC_DEG: f64 = 120.0;
    /// A dome's angle: a hemisphere.
    pub const DOME_DEG: f64 = 180.0;
    pub const BLUR_PX: f64 = 0.0;
    /// A relief's or lithophane's largest deviation from its grid, in millimetres (0: the
    /// full grid).
    pub const MAX_ERROR_MM: f64 = 0.0;
    /// A palette relief's layer height: fine enough for 30 or more shades in a few mm.
    pub const PALETTE_LAYER_MM: f64 = 0.08;
    pub const GAMMA: f64 = 1.0;
    pub const THRESHOLD: f64 = 0.5;
    pub const MAX_GRID: u32 = 4096;
    /// A solid's grid: a 1024 x 1024 mask at 5 mm deep is already tens of millions of voxels.
    pub const SOLID_MAX_GRID: u32 = 1024;
    pub const DEPTH_MM: f64 = 5.0;
    pub const BEVEL_MM: f64 = 1.0;
    pub const SMOOTH_VOX: f64 = 0.0;
    /// A mesh's weld tolerance: a micrometre joins corners that exporters wrote apart by
    /// rounding, far below any printer's resolution.
    pub const WELD_MM: f64 = 0.001;
    /// Shells enclosing less than this are dropped in repair (0 keeps every one).
    pub const MIN_SHELL_MM3: f64 = 0.0;
}

/// What a job makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobMode {
    /// Bright is high: a solid base with the image raised on top.
    Relief,
    /// Dark is thick: a panel that shows the image when lit from behind.
    Lithophane,
    /// A closed solid from the image's alpha or threshold mask, extruded with a bevel.
    Solid,
    /// The isosurface of a volume: a TIFF stack, a ZIP or directory of slices, DICOM, NIfTI or raw.
    Volume,
    /// A 3D file (STL, OBJ, PLY, glTF/GLB, 3MF or OFF), repaired, placed and converted.
    Mesh,
}

crate::names::named!(JobMode, "mode" {
    Relief => "relief",
    Lithophane => "lithophane",
    Solid => "solid",
    Volume => "volume",
    Mesh => "mesh",
});

/// What a mode takes as input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Image,
    Volume,
    /// A 3D file.
    Model,
}

crate::names::named!(InputKind, "input" { Image => "image", Volume => "volume", Model => "model" });

impl JobMode {
    /// One line on what the mode makes.
    pub fn summary(self) -> &'static str {
        match self {
            JobMode::Relief => "Bright is high: a solid base with the image raised on top.",
            JobMode::Lithophane => {
                "Dark is thick: a panel that shows the image when lit from behind."
            }
            JobMode::Solid => {
                "A closed solid from the image's alpha or threshold mask, extruded with a bevel."
            }
            JobMode::Volume => {
                "The isosurface of a volume: a TIFF stack, a ZIP or directory of slices, DICOM, NIfTI or raw."
            }
            JobMode::Mesh => {
                "A 3D file (STL, OBJ, PLY, glTF/GLB, 3MF or OFF), repaired, placed and converted."
            }
        }
    }

    /// The format written when none is asked for.
    pub fn default_format(self) -> MeshFormat {
        MeshFormat::Stl
    }

    /// Whether its input is an image (rather than a volume or a 3D file).
    pub fn takes_image(self) -> bool {
        self.input() == InputKind::Image
    }

    /// What it takes as input.
    pub fn input(self) -> InputKind {
        match self {
            JobMode::Relief | JobMode::Lithophane | JobMode::Solid => InputKind::Image,
            JobMode::Volume => InputKind::Volume,
            JobMode::Mesh => InputKind::Model,
        }
    }

    /// The modes, as a sentence: `relief, lithophane or solid`.
    fn list(modes: &[JobMode]) -> String {
        let names: Vec<&str> = modes.iter().map(|m| m.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

/// A checked job: what to make, in which format. It serialises in one canonical form (the
/// service fingerprints requests with it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    pub kind: JobKind,
    pub format: MeshFormat,
    /// Also render its picture ([`Job::has_picture`]: a lithophane lit from behind, a palette
    /// relief's colours) into the report (`convert --preview`); not
    /// part of what the job makes, so not part of its fingerprint.
    #[serde(skip)]
    pub backlit: bool,
}

/// What a job makes, with its typed parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Relief(ConvertParams),
    Lithophane(ConvertParams),
    Solid(ConvertParams, SolidParams),
    Volume(VolumeParams, VolumeSource),
    Mesh(crate::model::MeshParams),
}

impl Job {
    /// What its file says about itself where the format has room.
    pub fn meta(&self) -> crate::export::Meta {
        crate::export::Meta {
            title: format!("Lithos {}", self.mode().name()),
            ..crate::export::Meta::default()
        }
    }

    /// Whether it has a picture of how the print will look, rendered when `backlit` asks: a
    /// lithophane lit from behind, or a palette relief's colours.
    pub fn has_picture(&self) -> bool {
        match &self.kind {
            JobKind::Lithophane(_) => true,
            JobKind::Relief(params) => params.mode.layers().is_some(),
            JobKind::Solid(..) | JobKind::Volume(..) | JobKind::Mesh(_) => false,
        }
    }

    /// The image parameters, for modes that take an image.
    pub fn image_params(&self) -> Option<&ConvertParams> {
        match &self.kind {
            JobKind::Relief(p) | JobKind::Lithophane(p) | JobKind::Solid(p, _) => Some(p),
            JobKind::Volume(..) | JobKind::Mesh(_) => None,
        }
    }

    /// The mode it was built for.
    pub fn mode(&self) -> JobMode {
        match self.kind {
            JobKind::Relief(_) => JobMode::Relief,
            JobKind::Lithophane(_) => JobMode::Lithophane,
            JobKind::Solid(..) => JobMode::Solid,
            JobKind::Volume(..) => JobMode::Volume,
            JobKind::Mesh(_) => JobMode::Mesh,
        }
    }

    /// The stages it reports after decoding, in order, for progress.
    pub fn stages(&self) -> &'static [Stage] {
        match self.kind {
            JobKind::Relief(_) | JobKind::Lithophane(_) => &HEIGHTFIELD_STAGES,
            JobKind::Solid(..) => &SOLID_STAGES,
            JobKind::Volume(..) => &VOLUME_STAGES,
            JobKind::Mesh(_) => &MESH_STAGES,
        }
    }

    /// The work on a `width` x `height` image; `None` for volumes, whose work depends on
    /// the volume.
    pub fn work(&self, width: u32, height: u32) -> Option<Work> {
        let solid = match &self.kind {
            JobKind::Solid(_, solid) => Some(solid),
            _ => None,
        };
        let params = self.image_params()?;
        Some(crate::work::estimate(params, solid, self.format, width, height))
    }

    /// The work on a volume of `dims` voxels, its crop checked against them; `None` for
    /// image jobs.
    pub fn volume_work(&self, dims: [usize; 3]) -> Result<Option<Work>, ParamError> {
        let JobKind::Volume(params, _) = &self.kind else { return Ok(None) };
        let dims = match params.crop {
            Some(crop) => {
                crop.check(dims)?;
                [0, 1, 2].map(|k| crop.hi[k] - crop.lo[k])
            }
            None => dims,
        };
        Ok(Some(crate::work::estimate_volume(dims.map(|d| d as u64), self.format)))
    }

    /// The work on a 3D file of `triangles` triangles; `None` for other jobs.
    pub fn model_work(&self, triangles: u64) -> Option<Work> {
        matches!(self.kind, JobKind::Mesh(_))
            .then(|| crate::work::estimate_model(triangles, self.format))
    }

    /// The work on a `width` x `height` image, with its pitch checked: at least a micrometre
    /// apart, the model at most 10 m long.
    pub fn checked_work(&self, width: u32, height: u32) -> Result<Option<Work>, ParamError> {
        if let Some(params) = self.image_params() {
            let (gw, gh) = params.grid_dimensions(width, height);
            params.checked_pitch_mm(gw, gh)?;
        }
        Ok(self.work(width, height))
    }
}

fn mm(field: &'static str, value: Option<f64>) -> Result<Option<Millimetres>, ParamError> {
    value
        .map(|v| Millimetres::new(v).map_err(|message| ParamError::new(field, message)))
        .transpose()
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
            JobMode::Mesh => {
                let default = crate::model::MeshParams::default();
                let repair = match self.repair.unwrap_or(true) {
                    true => Some(crate::model::RepairParams {
                        weld_mm: self.weld_mm.map_or(defaults::WELD_MM as f32, |v| v as f32),
                        min_shell_mm3: self.min_shell_mm3.unwrap_or(defaults::MIN_SHELL_MM3),
                    }),
                    false => {
                        for (name, given) in [
                            ("weld_mm", self.weld_mm.is_some()),
                            ("min_shell_mm3", self.min_shell_mm3.is_some()),
                        ] {
                            if given {
                                return Err(ParamError::new(name, "needs `repair`"));
                            }
                        }
                        None
                    }
                };
                let params = crate::model::MeshParams {
                    units: self.units.unwrap_or(default.units),
                    repair,
                    scale: self.scale.unwrap_or(default.scale),
                    fit_mm: self.fit_mm,
                    center: self.center.unwrap_or(default.center),
                    drop: self.drop.unwrap_or(default.drop),
                };
                params.validate()?;
                JobKind::Mesh(params)
            }
        };
        Ok(Job { kind, format, backlit: false })
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
            JobMode::Solid | JobMode::Volume | JobMode::Mesh => Mode::relief(),
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

#[cfg(test)]
mod tests;
