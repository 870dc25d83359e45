//! Conversion parameters as validated domain types.
//!
//! Each field is checked once, at the edge, by [`ConvertParams::validate`]; every error names the
//! field (in snake_case, as the API spells it; the CLI shows it as `--kebab-case`) and says what a
//! valid value looks like.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod shape;

pub use shape::{Outline, Shape, ShapeKind};

/// A parameter that is out of range, naming the field and what to change.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParamError {
    /// The field, as the API spells it (`base_mm`).
    pub field: &'static str,
    /// What is wrong and what a valid value looks like.
    pub message: String,
}

impl ParamError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// A length in millimetres: finite, not negative, at most [`Millimetres::MAX`], and either
/// zero or at least [`Millimetres::MIN`] (so a subnormal or a 1e-40 never becomes a size).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Millimetres(f32);

impl Millimetres {
    /// The largest length we accept: a metre is far beyond any printer's bed.
    pub const MAX: f32 = 1000.0;
    /// The smallest length other than zero: a micrometre, finer than any printer resolves.
    pub const MIN: f32 = 0.001;

    pub fn new(value: f64) -> Result<Self, String> {
        if !value.is_finite() {
            return Err(format!("must be a number of millimetres, got {value}"));
        }
        if value < 0.0 {
            return Err(format!("must not be negative, got {value} mm"));
        }
        if value > f64::from(Self::MAX) {
            return Err(format!("must be at most {} mm, got {value} mm", Self::MAX));
        }
        if value != 0.0 && (value as f32) < Self::MIN {
            return Err(format!(
                "must be 0 or at least {} mm (a micrometre), got {value} mm",
                Self::MIN
            ));
        }
        Ok(Self(value as f32))
    }

    pub fn get(self) -> f32 {
        self.0
    }
}

impl TryFrom<f64> for Millimetres {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        Self::new(value)
    }
}

impl From<Millimetres> for f64 {
    fn from(value: Millimetres) -> f64 {
        f64::from(value.0)
    }
}

impl FromStr for Millimetres {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let value: f64 =
            s.trim().parse().map_err(|_| format!("`{s}` is not a number of millimetres"))?;
        Self::new(value)
    }
}

impl fmt::Display for Millimetres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mm", self.0)
    }
}

/// What the thickness map means.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// Bright is high: a solid base with the image raised on top.
    Relief {
        base_mm: Millimetres,
        relief_mm: Millimetres,
        /// Printed in whole layers of a palette's filaments ([`crate::palette`]); `base_mm`
        /// and `relief_mm` are then whole layers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layers: Option<crate::palette::Layers>,
    },
    /// Dark is thick: a panel that shows the image when lit from behind.
    Lithophane {
        min_mm: Millimetres,
        max_mm: Millimetres,
        frame: Option<Frame>,
        /// How brightness becomes thickness.
        #[serde(default)]
        light: Light,
    },
}

/// How a lithophane's brightness becomes thickness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "thickness_model", rename_all = "snake_case")]
pub enum Light {
    /// Thickness falls linearly from `max_mm` (black) to `min_mm` (white).
    #[default]
    Linear,
    /// Brightness is the light let through: by Beer-Lambert, a thickness `t` passes
    /// `10^(-t / td_mm)` of the light, and each pixel gets the thickness whose share lies
    /// between those of `max_mm` (black) and `min_mm` (white) as its brightness lies between 0
    /// and 1.
    Transmittance {
        /// The filament's transmission distance: the thickness that passes a tenth of the
        /// light (HueForge's "TD").
        td_mm: Millimetres,
    },
}

impl Light {
    /// The share of light a thickness of `t` mm lets through (1 for the linear model, which
    /// has no filament).
    pub fn passes(self, t: f32) -> f32 {
        match self {
            Light::Linear => 1.0,
            Light::Transmittance { td_mm } => 10f32.powf(-t / td_mm.get()),
        }
    }
}

/// The thickness model's names, as `thickness_model` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThicknessModel {
    /// Thickness linear in brightness.
    Linear,
    /// Transmitted light linear in brightness (Beer-Lambert, with `td_mm`).
    Transmittance,
}

crate::names::named!(ThicknessModel, "thickness_model" { Linear => "linear", Transmittance => "transmittance" });

impl Mode {
    pub fn relief() -> Self {
        use crate::job::defaults::{BASE_MM, RELIEF_MM};
        Mode::Relief {
            base_mm: Millimetres(BASE_MM as f32),
            relief_mm: Millimetres(RELIEF_MM as f32),
            layers: None,
        }
    }

    pub fn lithophane() -> Self {
        use crate::job::defaults::{MAX_MM, MIN_MM};
        Mode::Lithophane {
            min_mm: Millimetres(MIN_MM as f32),
            max_mm: Millimetres(MAX_MM as f32),
            frame: None,
            light: Light::Linear,
        }
    }

    /// A palette relief's layers.
    pub fn layers(&self) -> Option<crate::palette::Layers> {
        match self {
            Mode::Relief { layers, .. } => *layers,
            Mode::Lithophane { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mode::Relief { .. } => "relief",
            Mode::Lithophane { .. } => "lithophane",
        }
    }
}

/// A solid border around a lithophane.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub width_mm: Millimetres,
    pub thickness_mm: Millimetres,
}

/// How big the model is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhysicalSize {
    /// The model is this wide; its depth follows the image's aspect ratio.
    WidthMm(Millimetres),
    /// Grid vertices are this far apart.
    PixelMm(Millimetres),
}

/// The grid the image is resampled to: one vertex per pixel unless capped or set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridSize {
    /// The longest side has at most this many vertices; larger images are shrunk.
    pub max: u32,
    /// The longest side has exactly this many vertices (enlarging or shrinking).
    pub exact: Option<u32>,
}

impl GridSize {
    pub const DEFAULT_MAX: u32 = crate::job::defaults::MAX_GRID;
    pub const LIMIT: u32 = 65536;
}

impl Default for GridSize {
    fn default() -> Self {
        Self { max: Self::DEFAULT_MAX, exact: None }
    }
}

/// Which pixels carry material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskSource {
    /// Pixels whose alpha is at least the threshold.
    Alpha,
    /// Pixels whose toned brightness is at least the threshold.
    Threshold,
}

crate::names::named!(MaskSource, "mask" { Alpha => "alpha", Threshold => "threshold" });

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mask {
    pub source: MaskSource,
    /// In 0..1.
    pub threshold: f32,
}

/// How image brightness becomes a height value in 0..1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tone {
    pub invert: bool,
    /// Gaussian blur sigma in grid pixels; 0 is none.
    pub blur_px: f32,
    /// The value is raised to this power; above 1 darkens mid-tones.
    pub gamma: f32,
    /// Stretch the darkest to 0 and the brightest to 1.
    pub auto_levels: bool,
}

impl Default for Tone {
    fn default() -> Self {
        Self { invert: false, blur_px: 0.0, gamma: 1.0, auto_levels: false }
    }
}

/// Everything a conversion needs besides the image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvertParams {
    pub mode: Mode,
    pub size: PhysicalSize,
    pub grid: GridSize,
    pub tone: Tone,
    pub mask: Option<Mask>,
    /// Plain panels serialise as before: fingerprints of earlier requests stay the same.
    #[serde(default, skip_serializing_if = "Shape::is_plain")]
    pub shape: Shape,
    /// How closely a flat panel's top surface follows the grid.
    #[serde(default, skip_serializing_if = "Detail::is_default")]
    pub detail: Detail,
}

/// How closely a relief's or lithophane's top surface follows its grid (see
/// [`crate::mesh::adaptive`]). Curved shapes are meshed on the full grid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Two triangles per grid cell: every grid point exactly.
    Full,
    /// As few triangles as keep every grid point within this many millimetres of the surface.
    MaxErrorMm(f32),
    /// The smallest such error whose whole mesh has at most this many triangles.
    MaxTriangles(u64),
}

impl Default for Detail {
    fn default() -> Self {
        match crate::job::defaults::MAX_ERROR_MM {
            0.0 => Detail::Full,
            mm => Detail::MaxErrorMm(mm as f32),
        }
    }
}

impl Detail {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for ConvertParams {
    fn default() -> Self {
        Self {
            mode: Mode::relief(),
            size: PhysicalSize::WidthMm(Millimetres(crate::job::defaults::WIDTH_MM as f32)),
            grid: GridSize::default(),
            tone: Tone::default(),
            mask: None,
            shape: Shape::FLAT,
            detail: Detail::default(),
        }
    }
}

/// The largest blur sigma, in pixels: beyond it the kernel is wider than any useful image.
pub const MAX_BLUR_PX: f32 = 100.0;
/// The longest model side: 10 m, far beyond any printer, yet finite.
pub const MAX_MODEL_MM: f32 = 10_000.0;
/// The smallest gamma: below it every grey but black becomes white.
pub const MIN_GAMMA: f32 = 0.01;
/// The largest `max_error_mm`: a centimetre is already no likeness of any image.
pub const LARGEST_ERROR_MM: f32 = 10.0;
/// The thinnest wall we emit: below this slicers drop the geometry.
pub const MIN_THICKNESS_MM: f32 = 0.01;

impl ConvertParams {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ParamError> {
        match self.mode {
            Mode::Relief { base_mm, .. } => {
                if base_mm.get() < MIN_THICKNESS_MM {
                    return Err(ParamError::new(
                        "base_mm",
                        format!(
                            "must be at least {MIN_THICKNESS_MM} mm so the model has a solid \
                             floor, got {base_mm}"
                        ),
                    ));
                }
            }
            Mode::Lithophane { min_mm, max_mm, frame, .. } => {
                if min_mm.get() < MIN_THICKNESS_MM {
                    return Err(ParamError::new(
                        "min_mm",
                        format!(
                            "must be at least {MIN_THICKNESS_MM} mm so bright areas still print, \
                             got {min_mm}"
                        ),
                    ));
                }
                if max_mm < min_mm {
                    return Err(ParamError::new(
                        "max_mm",
                        format!("must be at least min_mm ({min_mm}), got {max_mm}"),
                    ));
                }
                if let Some(frame) = frame
                    && frame.width_mm.get() > 0.0
                    && frame.thickness_mm.get() < MIN_THICKNESS_MM
                {
                    return Err(ParamError::new(
                        "frame_thickness_mm",
                        format!(
                            "must be at least {MIN_THICKNESS_MM} mm, got {}",
                            frame.thickness_mm
                        ),
                    ));
                }
            }
        }
        match self.size {
            PhysicalSize::WidthMm(w) if w.get() <= 0.0 => {
                return Err(ParamError::new("width_mm", "must be greater than 0 mm"));
            }
            PhysicalSize::PixelMm(p) if p.get() <= 0.0 => {
                return Err(ParamError::new("pixel_mm", "must be greater than 0 mm"));
            }
            _ => {}
        }
        if !(2..=GridSize::LIMIT).contains(&self.grid.max) {
            return Err(ParamError::new(
                "max_grid",
                format!("must be between 2 and {}, got {}", GridSize::LIMIT, self.grid.max),
            ));
        }
        if let Some(exact) = self.grid.exact
            && !(2..=GridSize::LIMIT).contains(&exact)
        {
            return Err(ParamError::new(
                "grid",
                format!("must be between 2 and {}, got {exact}", GridSize::LIMIT),
            ));
        }
        match self.detail {
            Detail::MaxErrorMm(mm) if !(mm > 0.0 && mm <= LARGEST_ERROR_MM) => {
                return Err(ParamError::new(
                    "max_error_mm",
                    format!(
                        "must be above 0 and at most {LARGEST_ERROR_MM} mm, got {mm}; 0 keeps the \
                         full grid"
                    ),
                ));
            }
            Detail::MaxTriangles(0) => {
                return Err(ParamError::new("max_triangles", "must be at least 1"));
            }
            _ => {}
        }
        let tone = &self.tone;
        if !(0.0..=MAX_BLUR_PX).contains(&tone.blur_px) {
            return Err(ParamError::new(
                "blur_px",
                format!("must be between 0 and {MAX_BLUR_PX} pixels, got {}", tone.blur_px),
            ));
        }
        if !(tone.gamma >= MIN_GAMMA && tone.gamma <= 10.0) {
            return Err(ParamError::new(
                "gamma",
                format!("must be between {MIN_GAMMA} and 10, got {}", tone.gamma),
            ));
        }
        if let Some(mask) = self.mask
            && !(0.0..=1.0).contains(&mask.threshold)
        {
            return Err(ParamError::new(
                "threshold",
                format!("must be between 0 and 1, got {}", mask.threshold),
            ));
        }
        Ok(())
    }

    /// Grid dimensions in vertices for an image of `width` x `height` pixels.
    pub fn grid_dimensions(&self, width: u32, height: u32) -> (u32, u32) {
        let long = width.max(height);
        let target = match self.grid.exact {
            Some(exact) => exact,
            None => long.min(self.grid.max),
        };
        if target == long {
            return (width, height);
        }
        // Vertex grids scale by their spans (n - 1), so the corners stay on the corners.
        let scale = f64::from(target - 1) / f64::from(long - 1);
        let side = |n: u32| ((f64::from(n - 1) * scale).round() as u32 + 1).max(2);
        if width >= height { (target, side(height)) } else { (side(width), target) }
    }

    /// The grid pitch for a grid `gw` x `gh` vertices, checked: at least a micrometre, and
    /// the model at most [`MAX_MODEL_MM`] on its longest side.
    pub fn checked_pitch_mm(&self, gw: u32, gh: u32) -> Result<f32, ParamError> {
        let pitch = self.pitch_mm(gw);
        let field = match self.size {
            PhysicalSize::WidthMm(_) => "width_mm",
            PhysicalSize::PixelMm(_) => "pixel_mm",
        };
        // NaN counts as too small.
        if pitch.is_nan() || pitch < Millimetres::MIN {
            return Err(ParamError::new(
                field,
                format!(
                    "puts grid points {pitch} mm apart on a {gw}x{gh} grid; they must be at \
                     least {} mm apart: use a larger `{field}` or a smaller `max_grid`",
                    Millimetres::MIN
                ),
            ));
        }
        let longest = f64::from(pitch) * f64::from(gw.max(gh) - 1);
        if longest > f64::from(MAX_MODEL_MM) {
            return Err(ParamError::new(
                field,
                format!(
                    "makes the model {:.0} mm long; at most {MAX_MODEL_MM} mm (10 m) is made",
                    longest
                ),
            ));
        }
        Ok(pitch)
    }

    /// Distance between grid vertices in millimetres.
    pub fn pitch_mm(&self, grid_width: u32) -> f32 {
        match self.size {
            PhysicalSize::WidthMm(w) => w.get() / (grid_width - 1) as f32,
            PhysicalSize::PixelMm(p) => p.get(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_keeps_corners_and_aspect() {
        let mut params = ConvertParams::default();
        assert_eq!(params.grid_dimensions(512, 300), (512, 300), "within the cap: one per pixel");
        params.grid.max = 257;
        assert_eq!(params.grid_dimensions(513, 257), (257, 129), "spans halve exactly");
        params.grid.exact = Some(1025);
        assert_eq!(params.grid_dimensions(513, 257), (1025, 513), "enlarging");
        assert_eq!(params.grid_dimensions(100, 3000).1, 1025, "the longest side is set");
    }

    #[test]
    fn pitch_makes_the_width_exact() {
        let params = ConvertParams::default();
        assert_eq!(params.pitch_mm(101), 1.0);
        let pixel = ConvertParams { size: PhysicalSize::PixelMm(Millimetres(0.25)), ..params };
        assert_eq!(pixel.pitch_mm(101), 0.25);
    }

    #[test]
    fn millimetres_parse_with_reasons() {
        assert_eq!("2.5".parse::<Millimetres>().unwrap().get(), 2.5);
        assert!("-1".parse::<Millimetres>().unwrap_err().contains("negative"));
        assert!("inf".parse::<Millimetres>().unwrap_err().contains("number"));
        assert!("2mm".parse::<Millimetres>().unwrap_err().contains("not a number"));
        assert!("5000".parse::<Millimetres>().unwrap_err().contains("at most"));
        for tiny in [2.220446049250313e-16, 1e-40, f64::MIN_POSITIVE / 2.0, 0.000_999] {
            assert!(Millimetres::new(tiny).unwrap_err().contains("micrometre"), "{tiny}");
        }
        assert_eq!(Millimetres::new(0.0).unwrap().get(), 0.0, "zero is a valid thickness");
        assert_eq!(Millimetres::new(0.001).unwrap().get(), 0.001);
    }
}
