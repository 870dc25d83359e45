//! Progress reporting and cancellation, observed at stage and band boundaries.

use crate::error::{EngineError, Result};

/// A pipeline stage, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading the input from storage (the service's stage, before the engine's).
    Fetch,
    /// An AI generation provider making a prompt's model (the service's stage, before the
    /// engine's).
    Generate,
    Decode,
    Luminance,
    Resample,
    Blur,
    Thickness,
    /// Fitting a relief's or lithophane's adaptive top surface (none on the full grid).
    Simplify,
    /// Setting text in its font: the outlines, merged ([`crate::text`]).
    Layout,
    /// The signed distance field of a solid.
    Field,
    /// Marching cubes.
    Isosurface,
    /// Repairing a 3D file's mesh ([`crate::model::repair`]).
    Repair,
    /// Rendering the thumbnail.
    Thumbnail,
    /// Writing the mesh (for heightfields, generating it as it streams out).
    Mesh,
    /// Checking the mesh written: closed, manifold and oriented ([`crate::check`]).
    Check,
    /// Committing the output to storage (the service's stage, after the engine's).
    Store,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Generate => "generate",
            Stage::Decode => "decode",
            Stage::Luminance => "luminance",
            Stage::Resample => "resample",
            Stage::Blur => "blur",
            Stage::Thickness => "thickness",
            Stage::Simplify => "simplify",
            Stage::Layout => "layout",
            Stage::Field => "field",
            Stage::Isosurface => "isosurface",
            Stage::Repair => "repair",
            Stage::Thumbnail => "thumbnail",
            Stage::Mesh => "mesh",
            Stage::Check => "check",
            Stage::Store => "store",
        }
    }
}

/// The stages a relief or lithophane reports after decoding, in order.
pub const HEIGHTFIELD_STAGES: [Stage; 8] = [
    Stage::Luminance,
    Stage::Resample,
    Stage::Blur,
    Stage::Thickness,
    Stage::Simplify,
    Stage::Thumbnail,
    Stage::Mesh,
    Stage::Check,
];

/// The stages a solid reports after decoding, in order: [`crate::Engine::solid`], then
/// writing the mesh.
pub const SOLID_STAGES: [Stage; 9] = [
    Stage::Luminance,
    Stage::Resample,
    Stage::Blur,
    Stage::Thickness,
    Stage::Field,
    Stage::Isosurface,
    Stage::Thumbnail,
    Stage::Mesh,
    Stage::Check,
];

/// The stages a volume reports after decoding, in order.
pub const VOLUME_STAGES: [Stage; 4] =
    [Stage::Isosurface, Stage::Thumbnail, Stage::Mesh, Stage::Check];

/// The stages a 3D file's job reports after reading it, in order.
pub const MESH_STAGES: [Stage; 4] = [Stage::Repair, Stage::Thumbnail, Stage::Mesh, Stage::Check];

/// The stages a text job reports, in order: [`crate::Engine::text`], then writing the mesh.
pub const TEXT_STAGES: [Stage; 6] =
    [Stage::Layout, Stage::Field, Stage::Isosurface, Stage::Thumbnail, Stage::Mesh, Stage::Check];

/// Receives progress; may ask the engine to stop.
pub trait Progress: Sync {
    /// A stage begins.
    fn stage(&self, _stage: Stage) {}
    /// Fraction of the current stage done, 0 to 1 (only the mesh stage reports it).
    fn advance(&self, _fraction: f64) {}
    /// Polled between stages and bands; `true` stops the conversion with
    /// [`EngineError::Canceled`].
    fn is_canceled(&self) -> bool {
        false
    }
}

impl dyn Progress + '_ {
    pub(crate) fn check_canceled(&self) -> Result<()> {
        if self.is_canceled() { Err(EngineError::Canceled) } else { Ok(()) }
    }
}

/// Reports nothing and never cancels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {}
