//! Previews: a job made small, the same model at the same size on a grid of at most
//! [`PREVIEW_GRID`] points a side, for the web app's free, live preview.

use super::{Job, JobKind};
use crate::MeshFormat;
use crate::params::{ConvertParams, GridSize, Millimetres, ParamError, PhysicalSize, Tone};

/// The most grid points a preview has on its long side.
pub const PREVIEW_GRID: u32 = 256;
/// The long side its source image is shrunk to first: twice the grid, so that resampling
/// still averages.
pub const PREVIEW_SOURCE: u32 = 2 * PREVIEW_GRID;

impl Job {
    /// This job as a preview of its `width` x `height` source image: the same model at the
    /// same size on at most [`PREVIEW_GRID`] points a side (blur scaled with the grid), as
    /// GLB, with a lithophane's backlit view. Volumes have none.
    pub fn preview(&self, width: u32, height: u32) -> Result<Job, ParamError> {
        let kind = match &self.kind {
            JobKind::Relief(p) => JobKind::Relief(p.for_preview(width, height)?),
            JobKind::Lithophane(p) => JobKind::Lithophane(p.for_preview(width, height)?),
            JobKind::Solid(p, solid) => JobKind::Solid(p.for_preview(width, height)?, *solid),
            JobKind::Volume(..) => {
                return Err(ParamError::new(
                    "mode",
                    "a volume has no live preview: its task shows the surface it makes",
                ));
            }
        };
        let backlit = matches!(kind, JobKind::Lithophane(_));
        Ok(Job { kind, format: MeshFormat::Glb, backlit })
    }
}

impl ConvertParams {
    /// These parameters on a grid of at most [`PREVIEW_GRID`] points a side, for a `width`
    /// x `height` source: the width in millimetres that the full grid would have, and the
    /// blur in the smaller grid's pixels.
    pub fn for_preview(&self, width: u32, height: u32) -> Result<ConvertParams, ParamError> {
        let (gw, gh) = self.grid_dimensions(width, height);
        let long = gw.max(gh);
        let target = long.min(PREVIEW_GRID);
        let width_mm = self.checked_pitch_mm(gw, gh)? * (gw - 1) as f32;
        let width_mm =
            Millimetres::new(f64::from(width_mm)).map_err(|e| ParamError::new("width_mm", e))?;
        let scale = (target - 1) as f32 / (long - 1) as f32;
        Ok(ConvertParams {
            size: PhysicalSize::WidthMm(width_mm),
            grid: GridSize { max: target, exact: None },
            tone: Tone { blur_px: self.tone.blur_px * scale, ..self.tone },
            ..*self
        })
    }
}
