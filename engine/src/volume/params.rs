//! How a volume becomes an isosurface: the isovalue, spacing, smoothing, crop and clean-up.

use serde::{Deserialize, Serialize};

use crate::{Millimetres, ParamError};

/// A box of voxels, `lo` inclusive and `hi` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crop {
    pub lo: [usize; 3],
    pub hi: [usize; 3],
}

impl Crop {
    /// Checks the box against a volume of `dims` voxels.
    pub fn check(&self, dims: [usize; 3]) -> Result<(), ParamError> {
        let inside = (0..3).all(|k| self.lo[k] < self.hi[k] && self.hi[k] <= dims[k]);
        if inside {
            return Ok(());
        }
        Err(ParamError::new(
            "crop",
            format!(
                "the box {}..{}, {}..{}, {}..{} must be non-empty and lie inside the {}x{}x{} \
                 volume",
                self.lo[0],
                self.hi[0],
                self.lo[1],
                self.hi[1],
                self.lo[2],
                self.hi[2],
                dims[0],
                dims[1],
                dims[2]
            ),
        ))
    }
}

/// The largest pre-smoothing, in voxels.
pub const MAX_SMOOTH_VOXELS: f32 = 16.0;

/// How a volume becomes an isosurface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeParams {
    /// Samples at or above this are inside; `None` for Otsu's threshold.
    pub iso: Option<f32>,
    /// Millimetres between samples, overriding the file's header.
    pub spacing_mm: Option<[f32; 3]>,
    /// Gaussian pre-smoothing, standard deviation in voxels; 0 for none.
    pub smooth_voxels: f32,
    pub crop: Option<Crop>,
    /// Keep only the largest connected piece of the surface.
    pub largest_component: bool,
    /// Which volume of a 4-D series to mesh, from 0.
    pub frame: usize,
    /// Which DICOM series to mesh, where the input holds several.
    pub series: Option<super::SeriesUid>,
}

impl VolumeParams {
    /// Which volume of the input these parameters mesh.
    pub fn part(&self) -> super::Part {
        super::Part { frame: self.frame, series: self.series }
    }

    pub fn validate(&self) -> Result<(), ParamError> {
        if let Some(iso) = self.iso
            && !iso.is_finite()
        {
            return Err(ParamError::new("iso", "must be a finite number"));
        }
        if let Some(spacing) = self.spacing_mm
            && !spacing.iter().all(|s| (Millimetres::MIN..=Millimetres::MAX).contains(s))
        {
            return Err(ParamError::new(
                "spacing_mm",
                format!(
                    "every spacing must be between {} and {} mm, got {spacing:?}",
                    Millimetres::MIN,
                    Millimetres::MAX
                ),
            ));
        }
        if !(0.0..=MAX_SMOOTH_VOXELS).contains(&self.smooth_voxels) {
            return Err(ParamError::new(
                "smooth_vox",
                format!(
                    "must be between 0 and {MAX_SMOOTH_VOXELS} voxels, got {}",
                    self.smooth_voxels
                ),
            ));
        }
        if let Some(crop) = self.crop
            && (0..3).any(|k| crop.lo[k] >= crop.hi[k])
        {
            return Err(ParamError::new("crop", "each range must end after it starts"));
        }
        Ok(())
    }
}

/// Isovalues for CT in Hounsfield units, for `iso`: the surfaces a CT user asks for by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CtPreset {
    /// 300 HU: cortical and dense trabecular bone, above contrast-filled vessels' usual range.
    Bone,
    /// 0 HU: muscle and organs (about +40 HU) without fat (about -100 HU).
    SoftTissue,
    /// -500 HU: the body's outer surface, halfway between air (-1000 HU) and tissue (0 HU).
    Skin,
}

crate::names::named!(CtPreset, "iso" {
    Bone => "bone",
    SoftTissue => "soft-tissue",
    Skin => "skin",
});

impl CtPreset {
    /// The isovalue of the preset named `name`, in Hounsfield units.
    pub fn value_of(name: &str) -> Option<f64> {
        name.parse::<CtPreset>().ok().map(|p| f64::from(p.hounsfield()))
    }

    /// The isovalue, in Hounsfield units.
    pub fn hounsfield(self) -> f32 {
        match self {
            CtPreset::Bone => 300.0,
            CtPreset::SoftTissue => 0.0,
            CtPreset::Skin => -500.0,
        }
    }
}

/// An isovalue as asked for: a number in the input's units, or a CT preset's name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IsoValue {
    Number(f32),
    Preset(CtPreset),
}

impl IsoValue {
    pub fn value(self) -> f32 {
        match self {
            IsoValue::Number(v) => v,
            IsoValue::Preset(p) => p.hounsfield(),
        }
    }
}

impl std::str::FromStr for IsoValue {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        match s.trim().parse::<f32>() {
            Ok(v) => Ok(IsoValue::Number(v)),
            Err(_) => s.trim().parse::<CtPreset>().map(IsoValue::Preset).map_err(|_| {
                ParamError::new(
                    "iso",
                    format!(
                        "must be a number in the input's units or one of {}, got `{s}`",
                        CtPreset::NAMES.join(", ")
                    ),
                )
            }),
        }
    }
}
