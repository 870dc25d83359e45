//! Previews: a job made small, the same model at the same size on a grid of at most
//! [`PREVIEW_GRID`] points a side, for the web app's free, live preview.

use super::{Job, JobKind};
use crate::MeshFormat;
use crate::params::{
    ConvertParams, Detail, GridSize, Millimetres, ParamError, PhysicalSize, Shape, Tone,
};

/// The most grid points a preview has on its long side.
pub const PREVIEW_GRID: u32 = 256;
/// The long side its source image is shrunk to first: twice the grid, so that resampling
/// still averages.
pub const PREVIEW_SOURCE: u32 = 2 * PREVIEW_GRID;

impl Job {
    /// This job as a preview of its `width` x `height` source image: the same model at the
    /// same size on at most [`PREVIEW_GRID`] points a side (blur scaled with the grid), as
    /// GLB, with its picture ([`Job::has_picture`]). Volumes have none.
    pub fn preview(&self, width: u32, height: u32) -> Result<Job, ParamError> {
        self.preview_at(width, height, PREVIEW_GRID)
    }

    /// Whether its triangle count depends on the image: an adaptive surface, or a bent
    /// panel's adaptive columns (a dome has none).
    pub fn is_adaptive(&self) -> bool {
        match &self.kind {
            JobKind::Relief(p) | JobKind::Lithophane(p) => {
                p.detail != Detail::Full && !matches!(p.shape, Shape::Dome { .. })
            }
            _ => false,
        }
    }

    /// [`Job::preview`] on at most `grid` points a side.
    pub fn preview_at(&self, width: u32, height: u32, grid: u32) -> Result<Job, ParamError> {
        let kind = match &self.kind {
            JobKind::Relief(p) => JobKind::Relief(p.for_preview(width, height, grid)?),
            JobKind::Lithophane(p) => JobKind::Lithophane(p.for_preview(width, height, grid)?),
            JobKind::Solid(p, solid) => JobKind::Solid(p.for_preview(width, height, grid)?, *solid),
            JobKind::Volume(..) => {
                return Err(ParamError::new(
                    "mode",
                    "a volume has no live preview: its task shows the surface it makes",
                ));
            }
            JobKind::Mesh(_) => {
                return Err(ParamError::new(
                    "mode",
                    "a 3D file has no live preview: its task shows the repaired model",
                ));
            }
            JobKind::Prompt(_) | JobKind::Sculpt(_) => {
                return Err(ParamError::new(
                    "mode",
                    format!(
                        "a {} task has no live preview: each generation is charged by the provider",
                        self.mode()
                    ),
                ));
            }
            // The same text on a coarser field: a twenty-fifth of the letters' height.
            JobKind::Text(p) => {
                let pitch = p.pitch_mm().max(p.letter_height_mm / 25.0);
                JobKind::Text(Box::new(crate::text::TextParams { pitch_mm: Some(pitch), ..**p }))
            }
        };
        let mut job = Job { kind, format: MeshFormat::Glb, backlit: false };
        job.backlit = job.has_picture();
        Ok(job)
    }
}

/// The triangles a task is expected to make on a grid `full` points on its long side, from
/// two previews of it: `coarse` triangles on `coarse_grid` points and `fine` on `fine_grid`.
/// An adaptive surface's count grows as the grid's side to a power between 0 (a surface the
/// coarse grid already resolves) and 2 (new detail at every point), fitted to the two; never
/// above `most`, the full grid's.
pub fn expected_triangles(
    (coarse_grid, coarse): (u32, u64),
    (fine_grid, fine): (u32, u64),
    full: u32,
    most: u64,
) -> u64 {
    if fine_grid <= coarse_grid || coarse == 0 || full <= fine_grid {
        return fine.min(most);
    }
    let power = ((fine as f64 / coarse as f64).ln()
        / (f64::from(fine_grid) / f64::from(coarse_grid)).ln())
    .clamp(0.0, 2.0);
    let expected = fine as f64 * (f64::from(full) / f64::from(fine_grid)).powf(power);
    (expected.round() as u64).min(most)
}

impl ConvertParams {
    /// These parameters on a grid of at most `grid` points a side, for a `width` x `height`
    /// source: the width in millimetres that the full grid would have, and the blur in the
    /// smaller grid's pixels. A triangle budget shrinks with the side, as the walls do.
    pub fn for_preview(
        &self,
        width: u32,
        height: u32,
        grid: u32,
    ) -> Result<ConvertParams, ParamError> {
        let (gw, gh) = self.grid_dimensions(width, height);
        let long = gw.max(gh);
        let target = long.min(grid);
        let width_mm = self.checked_pitch_mm(gw, gh)? * (gw - 1) as f32;
        let width_mm =
            Millimetres::new(f64::from(width_mm)).map_err(|e| ParamError::new("width_mm", e))?;
        let scale = (target - 1) as f32 / (long - 1) as f32;
        Ok(ConvertParams {
            size: PhysicalSize::WidthMm(width_mm),
            grid: GridSize { max: target, exact: None },
            tone: Tone { blur_px: self.tone.blur_px * scale, ..self.tone },
            detail: match self.detail {
                Detail::MaxTriangles(n) => {
                    Detail::MaxTriangles(((n as f64 * f64::from(scale)) as u64).max(1))
                }
                detail => detail,
            },
            ..*self
        })
    }
}
