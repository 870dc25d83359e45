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

mod build;
#[cfg(feature = "cli")]
pub mod cli;
mod field;
mod preview;
mod request;
#[cfg(feature = "schema")]
pub mod schema;

use serde::{Deserialize, Serialize};

pub use field::{Field, FieldValue, Shown, ValueType};
pub use preview::{PREVIEW_GRID, PREVIEW_SOURCE, expected_triangles};
pub use request::{FIELDS, IMAGE, JobRequest, field};

use crate::progress::VOLUME_STAGES;
use crate::progress::{HEIGHTFIELD_STAGES, MESH_STAGES, SOLID_STAGES, Stage, TEXT_STAGES};
use crate::text::TextParams;
use crate::{ConvertParams, MeshFormat, ParamError, SolidParams, VolumeParams, VolumeSource, Work};

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
    /// Capital letters a centimetre tall: a name on a keychain.
    pub const LETTER_HEIGHT_MM: f64 = 10.0;
    /// Letters stand this far above their plate (or this tall alone).
    pub const TEXT_DEPTH_MM: f64 = 2.0;
    /// Sharp letters: a bevel eats thin strokes.
    pub const TEXT_BEVEL_MM: f64 = 0.0;
    pub const LINE_SPACING: f64 = 1.0;
    pub const PLATE_MM: f64 = 3.0;
    pub const MARGIN_MM: f64 = 3.0;
    /// A keyring's split ring goes through 4 mm.
    pub const HOLE_MM: f64 = 4.0;
    pub const BORDER_MM: f64 = 2.0;
    /// Two drain holes of 3 mm: resin runs out of one as air comes in through the other.
    pub const DRAIN_HOLES: u64 = 2;
    pub const DRAIN_MM: f64 = 3.0;
    /// A generated model is scaled to fit a 6 cm cube: the providers' models have no size.
    pub const PROMPT_FIT_MM: f64 = 60.0;
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
    /// A whole model of what a photo shows, which an AI generation provider makes (image to
    /// 3D), repaired like a 3D file.
    Sculpt,
    /// The isosurface of a volume: a TIFF stack, a ZIP or directory of slices, DICOM, NIfTI or raw.
    Volume,
    /// A 3D file (STL, OBJ, PLY, glTF/GLB, 3MF or OFF), repaired, placed and converted.
    Mesh,
    /// Text in a font: solid letters, a relief on a plate, a keychain or a sign.
    Text,
    /// A model an AI generation provider makes from a prompt, repaired like a 3D file.
    Prompt,
}

crate::names::named!(JobMode, "mode" {
    Relief => "relief",
    Lithophane => "lithophane",
    Solid => "solid",
    Sculpt => "sculpt",
    Volume => "volume",
    Mesh => "mesh",
    Text => "text",
    Prompt => "prompt",
});

/// What a mode takes as input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Image,
    Volume,
    /// A 3D file.
    Model,
    /// A TrueType or OpenType font, optional: without one, the bundled font.
    Font,
    /// No file: words, which the service's generation provider makes a model of.
    Prompt,
}

crate::names::named!(InputKind, "input" {
    Image => "image",
    Volume => "volume",
    Model => "model",
    Font => "font",
    Prompt => "prompt",
});

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
            JobMode::Text => {
                "Text in a font: solid letters, a relief on a plate, a keychain or a sign."
            }
            JobMode::Prompt => {
                "A model an AI generation provider makes from a prompt, repaired like a 3D file."
            }
            JobMode::Sculpt => {
                "A whole model of what a photo shows, made by an AI generation provider, repaired \
                 like a 3D file."
            }
        }
    }

    /// The format written when none is asked for.
    pub fn default_format(self) -> MeshFormat {
        MeshFormat::Stl
    }

    /// Whether an AI generation provider makes its model (from a prompt or a photo): it is
    /// priced at the provider's price, has no live preview, and runs only where a provider is
    /// configured.
    pub fn is_generated(self) -> bool {
        matches!(self, JobMode::Prompt | JobMode::Sculpt)
    }

    /// What it takes as input.
    pub fn input(self) -> InputKind {
        match self {
            JobMode::Relief | JobMode::Lithophane | JobMode::Solid | JobMode::Sculpt => {
                InputKind::Image
            }
            JobMode::Volume => InputKind::Volume,
            JobMode::Mesh => InputKind::Model,
            JobMode::Text => InputKind::Font,
            JobMode::Prompt => InputKind::Prompt,
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
    /// Boxed: its text is held inline, which would make every other kind as large.
    Text(Box<TextParams>),
    /// Run by the engine as [`JobKind::Mesh`] on the model the provider returned.
    Prompt(Box<crate::model::PromptParams>),
    /// Run by the engine as [`JobKind::Mesh`] on the model the provider made of the photo.
    Sculpt(crate::model::MeshParams),
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
            JobKind::Solid(..)
            | JobKind::Volume(..)
            | JobKind::Text(_)
            | JobKind::Mesh(_)
            | JobKind::Prompt(_)
            | JobKind::Sculpt(_) => false,
        }
    }

    /// The image parameters, for modes that take an image.
    pub fn image_params(&self) -> Option<&ConvertParams> {
        match &self.kind {
            JobKind::Relief(p) | JobKind::Lithophane(p) | JobKind::Solid(p, _) => Some(p),
            JobKind::Volume(..) | JobKind::Text(_) => None,
            JobKind::Mesh(_) | JobKind::Prompt(_) | JobKind::Sculpt(_) => None,
        }
    }

    /// A 3D file's options, for the jobs that read, repair and place a model: a 3D file, or
    /// the model a provider generated.
    pub fn mesh_params(&self) -> Option<&crate::model::MeshParams> {
        match &self.kind {
            JobKind::Mesh(p) | JobKind::Sculpt(p) => Some(p),
            JobKind::Prompt(p) => Some(&p.mesh),
            _ => None,
        }
    }

    /// The text parameters, for text jobs.
    pub fn text_params(&self) -> Option<&TextParams> {
        match &self.kind {
            JobKind::Text(p) => Some(p),
            _ => None,
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
            JobKind::Text(_) => JobMode::Text,
            JobKind::Prompt(_) => JobMode::Prompt,
            JobKind::Sculpt(_) => JobMode::Sculpt,
        }
    }

    /// The stages it reports after decoding, in order, for progress.
    pub fn stages(&self) -> &'static [Stage] {
        match self.kind {
            JobKind::Relief(_) | JobKind::Lithophane(_) => &HEIGHTFIELD_STAGES,
            JobKind::Solid(..) => &SOLID_STAGES,
            JobKind::Volume(..) => &VOLUME_STAGES,
            JobKind::Mesh(_) | JobKind::Prompt(_) | JobKind::Sculpt(_) => &MESH_STAGES,
            JobKind::Text(_) => &TEXT_STAGES,
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
        self.mesh_params().map(|_| crate::work::estimate_model(triangles, self.format))
    }

    /// The work on text laid out on a field of `dims` voxels ([`crate::text::Plan::dims`]);
    /// `None` for other jobs.
    pub fn text_work(&self, dims: [usize; 3]) -> Option<Work> {
        matches!(self.kind, JobKind::Text(_))
            .then(|| crate::work::estimate_volume(dims.map(|d| d as u64), self.format))
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

#[cfg(test)]
mod tests;
