//! 3D files: read, analysed, repaired, placed, then written and checked like any mesh.

use std::io::Write;
use std::time::Instant;

use crate::job::Job;
use crate::model::{self, MeshParams, ModelLimits, ModelReport, RepairOptions};
use crate::{Engine, EngineError, Input, ParamError, Progress, Report, Result, Stage, timed};

impl Engine {
    /// Runs a mesh job: `input` is a 3D file.
    pub(crate) fn convert_model<W: Write + Send>(
        &self,
        job: &Job,
        params: &MeshParams,
        input: Input<'_>,
        out: W,
        progress: &dyn Progress,
    ) -> Result<Report> {
        let start = Instant::now();
        let mut times = Vec::new();
        let limits = ModelLimits::default();
        let loaded = timed(Stage::Decode, progress, &mut times, || match input {
            Input::File { path, .. } => model::read_file(path, params.units, limits),
            Input::Encoded { bytes, .. } => model::read(bytes, params.units, limits),
            Input::Image(_) | Input::Volume(_) | Input::None => Err(EngineError::InvalidParameter(
                ParamError::new("mode", "`mode` mesh takes a 3D file, not an image or a volume"),
            )),
        })?;
        let model::Loaded { mut model, format, millimetres_per_unit } = loaded;
        let (analysis, repairs) = timed(Stage::Repair, progress, &mut times, || {
            let analysis = model::analyse(&model);
            let repairs = match params.repair {
                Some(r) => {
                    let options =
                        RepairOptions { weld_mm: r.weld_mm, min_shell_mm3: r.min_shell_mm3 };
                    // The watchdog (or a cancel) stops the rebuild of crossing faces too.
                    let repairs = model::repair::repair_until(&mut model, options, &|| {
                        progress.is_canceled()
                    });
                    if progress.is_canceled() {
                        return Err(EngineError::Canceled);
                    }
                    Some(repairs)
                }
                // As read, but with equal corners shared, as a slicer reads an STL.
                None => {
                    model = model.welded();
                    None
                }
            };
            params.place(&mut model);
            Ok((analysis, repairs))
        })?;
        let hollow = match params.hollow {
            Some(hollow) => Some(timed(Stage::Repair, progress, &mut times, || {
                // The cavity is what lies deeper than the wall: only a closed model has one.
                let sealed = model::analyse(&model);
                if !(sealed.is_closed() && sealed.is_manifold()) {
                    return Err(EngineError::InvalidParameter(ParamError::new(
                        "hollow_mm",
                        "needs a closed model: turn on `repair`, or mend the file first",
                    )));
                }
                self.hollow(&mut model, hollow, progress)
            })?),
            None => None,
        };
        let mesh = model::params::indexed(model);
        let mut report = self
            .indexed_report(start, &mesh, job, out, progress, times, [0; 3], None)
            .map_err(|e| match e {
                EngineError::FailedCheck { problems } => {
                    EngineError::ModelNotPrintable { problems, repaired: repairs.is_some() }
                }
                e => e,
            })?;
        report.voxels = None;
        report.model =
            Some(ModelReport { format, millimetres_per_unit, input: analysis, repairs, hollow });
        Ok(report)
    }
}
