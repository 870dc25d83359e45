//! Text to a closed solid: the layout, the field of its outlines, marching cubes.

use std::io::Write;
use std::time::Instant;

use super::Input;
use crate::job::Job;
use crate::text::{Font, Plan, TextParams};
use crate::{
    Engine, EngineError, IndexedMesh, IsoOptions, MAX_SOLID_VOXELS, ParamError, Progress, Report,
    Result, Stage, StageTime, timed,
};

impl Engine {
    /// The solid of `params` set in `font`, in millimetres with its bottom at z = 0 and its
    /// lower left corner at the origin, and the plan it was made from.
    pub fn text(
        &self,
        font: &Font<'_>,
        params: &TextParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(IndexedMesh, Plan)> {
        let plan = timed(Stage::Layout, progress, times, || Plan::new(font, params))?;
        let voxels = plan.voxels();
        if voxels > MAX_SOLID_VOXELS {
            return Err(EngineError::TextTooLarge { voxels, pitch_mm: params.pitch_mm() });
        }
        let field = timed(Stage::Field, progress, times, || Ok(plan.field()))?;
        let mut mesh = timed(Stage::Isosurface, progress, times, || {
            self.isosurface(&field, &IsoOptions::new(0.0), progress)
        })?;
        // Voxel indices to millimetres: the grid's rows run up, as y does, so nothing mirrors.
        let pitch = plan.grid.pitch_mm as f32;
        let z0 = field.z_mm(0);
        mesh.transform(|[x, y, z]| [x * pitch, y * pitch, z0 + z * pitch]);
        let (lo, _) = mesh.bounds();
        mesh.transform(|[x, y, z]| [x - lo[0], y - lo[1], z]);
        Ok((mesh, plan))
    }

    /// A text job: its font from `input` (a TTF or OTF file, or the bundled font for
    /// [`Input::None`]), its mesh written to `out`.
    pub(crate) fn convert_text<W: Write + Send>(
        &self,
        job: &Job,
        params: &TextParams,
        input: Input<'_>,
        out: W,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        let mut times = Vec::new();
        let read;
        let bytes = match input {
            Input::None => crate::text::font::BUNDLED,
            Input::Encoded { bytes, .. } => bytes,
            Input::File { path, .. } => {
                read = timed(Stage::Decode, progress, &mut times, || {
                    crate::text::font::read_file(path)
                })?;
                &read
            }
            Input::Image(_) | Input::Volume(_) => {
                return Err(EngineError::InvalidParameter(ParamError::new(
                    "mode",
                    "`mode` text takes a font (TTF or OTF), or nothing for the bundled font",
                )));
            }
        };
        let font = Font::parse(bytes)?;
        let (mesh, plan) = self.text(&font, params, progress, &mut times)?;
        self.indexed_report(start, &mesh, job, out, progress, times, plan.dims(), None)
    }
}
