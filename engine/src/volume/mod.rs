//! Volumes: 3-D grids of samples from image stacks, DICOM series, NIfTI files and raw dumps,
//! kept in their own sample type (a 1024^3 u8 scan stays 1 GiB) and read as `f32` a few planes
//! at a time.

pub(crate) mod dicom;
mod load;
mod nifti;
mod params;
mod series_uid;

pub use dicom::{SeriesSummary, is_dicom};
pub use load::{Part, RawType, VolumeSource, load, load_part, sniff};
pub use params::{Crop, CtPreset, IsoValue, MAX_SMOOTH_VOXELS, VolumeParams};
pub use series_uid::SeriesUid;

use crate::isosurface::ScalarField;

/// The samples, in their stored type, x fastest, then y, then z.
#[derive(Clone, Debug, PartialEq)]
pub enum Voxels {
    U8(Vec<u8>),
    U16(Vec<u16>),
    /// CT and MRI's usual type.
    I16(Vec<i16>),
    F32(Vec<f32>),
}

impl Voxels {
    pub fn len(&self) -> usize {
        match self {
            Voxels::U8(v) => v.len(),
            Voxels::U16(v) => v.len(),
            Voxels::I16(v) => v.len(),
            Voxels::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn copy_f32(&self, start: usize, out: &mut [f32]) {
        let end = start + out.len();
        match self {
            Voxels::U8(v) => out.iter_mut().zip(&v[start..end]).for_each(|(o, &v)| *o = v.into()),
            Voxels::U16(v) => out.iter_mut().zip(&v[start..end]).for_each(|(o, &v)| *o = v.into()),
            Voxels::I16(v) => out.iter_mut().zip(&v[start..end]).for_each(|(o, &v)| *o = v.into()),
            Voxels::F32(v) => out.copy_from_slice(&v[start..end]),
        }
    }

    /// Whether samples are whole numbers (so an isovalue halfway between two of them never
    /// equals a sample).
    pub fn is_integer(&self) -> bool {
        !matches!(self, Voxels::F32(_))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Voxels::U8(_) => "u8",
            Voxels::U16(_) => "u16",
            Voxels::I16(_) => "i16",
            Voxels::F32(_) => "f32",
        }
    }
}

/// A volume and its geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    /// Samples along x, y and z.
    pub dims: [usize; 3],
    /// Millimetres between samples along x, y and z.
    pub spacing_mm: [f32; 3],
    /// Rotation (and reflection) from voxel axes to the scanner's axes, columns per voxel
    /// axis, each of unit length; identity unless the file says otherwise.
    pub orientation: [[f32; 3]; 3],
    pub voxels: Voxels,
    /// Stored samples to values, applied as planes are read: scaled integers stay compact.
    pub rescale: Rescale,
    /// How many volumes the input holds (a 4-D NIfTI series' frames), this one among them.
    pub frames: usize,
    /// The DICOM series it was read from.
    pub series: Option<SeriesSummary>,
}

/// `value = stored * slope + intercept`: NIfTI's `scl_slope` and `scl_inter`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rescale {
    pub slope: f32,
    pub intercept: f32,
}

impl Rescale {
    pub const IDENTITY: Rescale = Rescale { slope: 1.0, intercept: 0.0 };

    pub fn is_identity(self) -> bool {
        self == Self::IDENTITY
    }

    fn apply(self, values: &mut [f32]) {
        if !self.is_identity() {
            values.iter_mut().for_each(|v| *v = *v * self.slope + self.intercept);
        }
    }
}

/// Counts of values in equal bins from `lo` to `hi`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Otsu's threshold: the upper edge of the lower class that best splits the counts; for
    /// whole-number values moved to the half step above, so that no value equals it.
    pub fn otsu_threshold(&self, integer: bool) -> f32 {
        let (lo, hi) = (self.lo, self.hi);
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            return lo;
        }
        let bins = self.counts.len();
        let width = (hi - lo) / bins as f32;
        let total: u64 = self.counts.iter().sum();
        let sum_all: f64 = self.counts.iter().enumerate().map(|(i, &n)| i as f64 * n as f64).sum();
        let (mut best, mut best_between) = (0, -1.0);
        let (mut below, mut sum_below) = (0u64, 0.0);
        for (i, &n) in self.counts.iter().enumerate().take(bins - 1) {
            below += n;
            sum_below += i as f64 * n as f64;
            let above = total - below;
            if below == 0 || above == 0 {
                continue;
            }
            let mean_below = sum_below / below as f64;
            let mean_above = (sum_all - sum_below) / above as f64;
            let between = below as f64 * above as f64 * (mean_below - mean_above).powi(2);
            if between > best_between {
                (best, best_between) = (i, between);
            }
        }
        // Inside is "at least the isovalue": the upper edge of the best lower class.
        let threshold = lo + width * (best + 1) as f32;
        if integer { threshold.floor() + 0.5 } else { threshold }
    }
}

pub const IDENTITY: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

impl Volume {
    pub fn new(dims: [usize; 3], voxels: Voxels) -> Self {
        assert_eq!(dims.iter().product::<usize>(), voxels.len(), "dims match the samples");
        Self {
            dims,
            spacing_mm: [1.0; 3],
            orientation: IDENTITY,
            voxels,
            rescale: Rescale::IDENTITY,
            frames: 1,
            series: None,
        }
    }

    /// Whether values are whole numbers (so an isovalue halfway between two of them never
    /// equals a sample).
    pub fn is_integer(&self) -> bool {
        self.voxels.is_integer()
            && self.rescale.slope == 1.0
            && self.rescale.intercept.fract() == 0.0
    }

    /// The smallest and largest finite samples.
    pub fn range(&self) -> (f32, f32) {
        let mut planes = vec![0.0; self.dims[0] * self.dims[1]];
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for z in 0..self.dims[2] {
            self.read_planes(z, z + 1, &mut planes);
            for &v in planes.iter().filter(|v| v.is_finite()) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        (lo, hi)
    }

    /// A histogram of the finite values: `bins` equal bins from the smallest to the largest.
    pub fn histogram(&self, bins: usize) -> Histogram {
        let (lo, hi) = self.range();
        let mut counts = vec![0u64; bins.max(1)];
        if hi.partial_cmp(&lo) == Some(std::cmp::Ordering::Greater) {
            let width = (hi - lo) / counts.len() as f32;
            let last = counts.len() - 1;
            let mut plane = vec![0.0; self.dims[0] * self.dims[1]];
            for z in 0..self.dims[2] {
                self.read_planes(z, z + 1, &mut plane);
                for &v in plane.iter().filter(|v| v.is_finite()) {
                    counts[(((v - lo) / width) as usize).min(last)] += 1;
                }
            }
        } else if lo.is_finite() {
            counts[0] = self.voxels.len() as u64;
        }
        Histogram { lo, hi, counts }
    }

    /// Otsu's threshold: the value that best splits the samples into two classes, from a
    /// 256-bin histogram (exact for u8). For whole-number samples it is moved to the half
    /// step above, so that no sample equals it.
    pub fn otsu_threshold(&self) -> f32 {
        self.histogram(256).otsu_threshold(self.is_integer())
    }

    /// The sub-volume `[x0, x1) x [y0, y1) x [z0, z1)`.
    pub fn crop(&self, lo: [usize; 3], hi: [usize; 3]) -> Volume {
        fn rows<T: Copy>(v: &[T], dims: [usize; 3], lo: [usize; 3], hi: [usize; 3]) -> Vec<T> {
            let mut out = Vec::with_capacity((0..3).map(|k| hi[k] - lo[k]).product());
            for z in lo[2]..hi[2] {
                for y in lo[1]..hi[1] {
                    let row = (z * dims[1] + y) * dims[0];
                    out.extend_from_slice(&v[row + lo[0]..row + hi[0]]);
                }
            }
            out
        }
        let voxels = match &self.voxels {
            Voxels::U8(v) => Voxels::U8(rows(v, self.dims, lo, hi)),
            Voxels::U16(v) => Voxels::U16(rows(v, self.dims, lo, hi)),
            Voxels::I16(v) => Voxels::I16(rows(v, self.dims, lo, hi)),
            Voxels::F32(v) => Voxels::F32(rows(v, self.dims, lo, hi)),
        };
        Volume {
            dims: [0, 1, 2].map(|k| hi[k] - lo[k]),
            voxels,
            series: self.series.clone(),
            ..*self
        }
    }
}

impl ScalarField for Volume {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]) {
        let plane = self.dims[0] * self.dims[1];
        let out = &mut out[..(z1 - z0) * plane];
        self.voxels.copy_f32(z0 * plane, out);
        self.rescale.apply(out);
    }

    fn borrow_planes(&self, z0: usize, z1: usize) -> Option<&[f32]> {
        let plane = self.dims[0] * self.dims[1];
        match &self.voxels {
            Voxels::F32(v) if self.rescale.is_identity() => Some(&v[z0 * plane..z1 * plane]),
            _ => None,
        }
    }
}
