//! Volume uploads: a DICOM series (a ZIP of slices or one multi-frame file), NIfTI, a
//! multi-page TIFF, a ZIP of PNG or TIFF slices, or raw samples with their dims and type given
//! at upload. Recognised by content, read whole under the engine's limits when uploaded (so a
//! bomb or a broken series is refused before anything is stored), and described by geometry
//! and values only: no patient attribute is kept.

use std::path::Path;

use lithos_engine::volume::{self, Part, SeriesSummary};
use lithos_engine::{DecodeLimits, EngineError, RawType, Volume, VolumeSource};
use serde::{Deserialize, Serialize};

/// Bins of the histogram an upload's answer carries.
pub const HISTOGRAM_BINS: usize = 128;

/// What a volume upload holds: its geometry, its values, and the DICOM series in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VolumeInfo {
    /// Voxels along x, y and z.
    pub dims: [u64; 3],
    /// Millimetres between voxels along x, y and z, from the file's header.
    pub spacing_mm: [f32; 3],
    /// The smallest and largest value, in the file's units after its rescale (Hounsfield
    /// units for CT).
    pub value_range: [f32; 2],
    /// Voxel counts in equal bins across `value_range`.
    pub histogram: Vec<u64>,
    /// How the samples are kept: u8, u16, i16 or f32.
    pub sample: String,
    /// Volumes in the file (a 4-D NIfTI series' frames); `frame` chooses one.
    pub frames: u64,
    /// Otsu's threshold, the isovalue a task uses when it gives none.
    pub otsu_iso: f32,
    /// Whether the values are CT Hounsfield units, for which the `iso` presets `bone`,
    /// `soft-tissue` and `skin` are meant.
    pub hounsfield: bool,
    /// The DICOM series in the upload (none for other formats). With several, the one
    /// described here is `series_uid`, the largest; a task's `series` chooses another.
    pub series: Vec<Series>,
    pub series_uid: Option<String>,
    /// A raw upload's size and sample type, as given at upload.
    pub raw: Option<RawShape>,
}

/// A DICOM series: its own attributes only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Series {
    /// Series Instance UID: what a task's `series` takes.
    pub uid: String,
    pub modality: String,
    pub number: Option<i32>,
    pub description: String,
    pub slices: u64,
    /// Columns and rows of a slice.
    pub size: [u64; 2],
}

impl From<&SeriesSummary> for Series {
    fn from(s: &SeriesSummary) -> Self {
        Series {
            uid: s.uid.clone(),
            modality: s.modality.clone(),
            number: s.number,
            description: s.description.clone(),
            slices: s.slices as u64,
            size: s.size.map(|v| v as u64),
        }
    }
}

/// A raw file's voxels along x, y and z, and their sample type.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RawShape {
    pub dims: [u64; 3],
    #[schema(value_type = String)]
    pub sample: RawType,
}

impl RawShape {
    pub fn source(self) -> VolumeSource {
        VolumeSource::Raw { dims: self.dims.map(|d| d as usize), sample: self.sample }
    }
}

/// Reads the volume in `path` under `limits` and describes it. With several DICOM series, the
/// largest is read, and all are listed.
pub fn describe(
    path: &Path,
    raw: Option<RawShape>,
    limits: DecodeLimits,
) -> Result<VolumeInfo, EngineError> {
    let source = raw.map_or(VolumeSource::Detect, RawShape::source);
    let (volume, all) = match volume::load(path, source, limits) {
        Ok(volume) => (volume, Vec::new()),
        Err(EngineError::SeveralSeries { series }) => {
            let largest = series
                .iter()
                .max_by_key(|s| s.slices * s.size[0] * s.size[1])
                .expect("several series");
            let part = Part { frame: 0, series: largest.uid.parse().ok() };
            (volume::load_part(path, source, part, limits)?, series)
        }
        Err(e) => return Err(e),
    };
    Ok(info(&volume, &all, raw))
}

fn info(volume: &Volume, all: &[SeriesSummary], raw: Option<RawShape>) -> VolumeInfo {
    let histogram = volume.histogram(HISTOGRAM_BINS);
    let series: Vec<Series> = if all.is_empty() {
        volume.series.iter().map(Series::from).collect()
    } else {
        all.iter().map(Series::from).collect()
    };
    let (lo, hi) = (histogram.lo, histogram.hi);
    let hounsfield = match &volume.series {
        Some(s) => s.modality == "CT",
        // A CT in another format: air near -1000 and signed samples.
        None => {
            volume.voxels.type_name() != "u8" && (-3100.0..=-900.0).contains(&lo) && hi >= 200.0
        }
    };
    VolumeInfo {
        dims: volume.dims.map(|d| d as u64),
        spacing_mm: volume.spacing_mm,
        value_range: [lo, hi],
        otsu_iso: histogram.otsu_threshold(volume.is_integer()),
        histogram: histogram.counts,
        sample: volume.voxels.type_name().to_owned(),
        frames: volume.frames as u64,
        hounsfield,
        series,
        series_uid: volume.series.as_ref().map(|s| s.uid.clone()),
        raw,
    }
}

impl VolumeInfo {
    /// The dims of the volume a task would mesh: the chosen series' (the described one by
    /// default), checked against the upload, as are `frame` and the raw shape.
    pub fn dims_for(
        &self,
        series: Option<&str>,
        frame: usize,
    ) -> Result<[usize; 3], lithos_engine::ParamError> {
        use lithos_engine::ParamError;
        if frame as u64 >= self.frames {
            return Err(ParamError::new(
                "frame",
                format!(
                    "the upload holds {} volume{} (frames 0 to {}); got {frame}",
                    self.frames,
                    if self.frames == 1 { "" } else { "s" },
                    self.frames.saturating_sub(1)
                ),
            ));
        }
        let dims = self.dims.map(|d| d as usize);
        let Some(uid) = series else { return Ok(dims) };
        if self.series_uid.as_deref() == Some(uid) {
            return Ok(dims);
        }
        let listed = self.series.iter().find(|s| s.uid == uid).ok_or_else(|| {
            let uids: Vec<&str> = self.series.iter().map(|s| s.uid.as_str()).collect();
            ParamError::new(
                "series",
                if uids.is_empty() {
                    "the upload is not a DICOM series".to_owned()
                } else {
                    format!("the upload holds no series {uid}; it holds {}", uids.join(", "))
                },
            )
        })?;
        Ok([listed.size[0] as usize, listed.size[1] as usize, listed.slices as usize])
    }

    /// Bytes the samples take when read, for the decode budget.
    pub fn sample_bytes(&self) -> u64 {
        let per = match self.sample.as_str() {
            "u8" => 1,
            "u16" | "i16" => 2,
            _ => 4,
        };
        self.dims.iter().fold(per, |acc, &d| acc.saturating_mul(d))
    }
}

/// Reads the volume of a task: `path` holds the upload, `job` says which part.
pub fn read_for_job(
    path: &Path,
    params: &lithos_engine::VolumeParams,
    source: VolumeSource,
) -> Result<Volume, EngineError> {
    volume::load_part(path, source, params.part(), DecodeLimits::default())
}
