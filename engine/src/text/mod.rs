//! Text to 3D: lines of text in a font (the bundled one or the user's), set as exact outlines,
//! and made into solid letters, a relief on a plate, a keychain or a sign.
//!
//! The outlines (curves flattened within a few micrometres) are merged into one set of
//! polygons, so letters that touch become one piece and a letter's counters (the holes of
//! `o`, `A`, `B`) stay holes. Their exact signed distance, and a plate's, feed the same field
//! as an image's solid ([`crate::solid::SolidField`]): the same depth, bevel, pillow and
//! cookie-cutter options, and the same marching cubes. On a plate, the letters stand on it and
//! merge with it, so the part is one closed solid.

mod field;
pub mod font;
mod lines;

use i_overlay::core::fill_rule::FillRule;
use i_overlay::float::simplify::SimplifyShape;
use serde::{Deserialize, Serialize};

pub use field::Grid;
use field::{RoundedRect, circle_distance, polygon_distance};
pub use font::{Font, FontInfo};
pub use lines::TextLines;

use crate::solid::{MARGIN, PlateField, SolidField};
use crate::{EngineError, ParamError, SolidParams};

/// What the text becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The letters alone, each a solid; letters that touch are one piece.
    Solid,
    /// The letters raised on a plate with rounded corners, `margin_mm` around them.
    #[default]
    Plate,
    /// A plate with a ring on the left to hang it by (`hole_mm`).
    Keychain,
    /// A plate with a raised border (`border_mm`) around the letters.
    Sign,
}

crate::names::named!(Layout, "layout" {
    Solid => "solid",
    Plate => "plate",
    Keychain => "keychain",
    Sign => "sign",
});

/// How lines line up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    #[default]
    Center,
    Right,
}

crate::names::named!(Align, "align" { Left => "left", Center => "center", Right => "right" });

/// The ring around a keychain's hole is at least this wide.
const MIN_RING_MM: f64 = 2.0;
/// Curves are flattened to within this of the font's outline.
const TOLERANCE_MM: f64 = 0.005;

/// A text job's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TextParams {
    pub text: TextLines,
    pub layout: Layout,
    /// Height of capital letters.
    pub letter_height_mm: f32,
    pub letter_spacing_mm: f32,
    /// Baseline to baseline, as a multiple of the font's line height.
    pub line_spacing: f32,
    pub align: Align,
    /// The letters' extrusion: `depth_mm` is their height (above the plate, on one).
    pub solid: SolidParams,
    /// The plate's thickness, for every layout but `solid`.
    pub plate_mm: f32,
    /// The plate's reach beyond the letters, and its corners' radius.
    pub margin_mm: f32,
    /// A keychain's hole.
    pub hole_mm: f32,
    /// A sign's raised border.
    pub border_mm: f32,
    /// The field's sample spacing; `None` for a fiftieth of `letter_height_mm` (0.05 to 0.2 mm).
    pub pitch_mm: Option<f32>,
}

impl TextParams {
    pub fn validate(&self) -> Result<(), ParamError> {
        self.solid.validate()?;
        let positive = |field: &'static str, v: f32| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(ParamError::new(field, format!("must be greater than 0, got {v}")))
            }
        };
        positive("letter_height_mm", self.letter_height_mm)?;
        positive("line_spacing", self.line_spacing)?;
        if self.layout != Layout::Solid {
            positive("plate_mm", self.plate_mm)?;
        }
        match self.layout {
            Layout::Keychain => positive("hole_mm", self.hole_mm)?,
            Layout::Sign => positive("border_mm", self.border_mm)?,
            Layout::Solid | Layout::Plate => {}
        }
        if let Some(pitch) = self.pitch_mm {
            positive("pixel_mm", pitch)?;
        }
        Ok(())
    }

    pub fn pitch_mm(&self) -> f32 {
        self.pitch_mm.unwrap_or((self.letter_height_mm / 50.0).clamp(0.05, 0.2))
    }

    /// The part's height: the letters, on their plate.
    pub fn height_mm(&self) -> f32 {
        self.solid.depth_mm.get() + self.plate_height_mm()
    }

    fn plate_height_mm(&self) -> f32 {
        if self.layout == Layout::Solid { 0.0 } else { self.plate_mm }
    }
}

/// A plate's outline: a rounded rectangle, with a keychain's ring and hole or a sign's border.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Plate {
    rect: RoundedRect,
    /// A keychain's ring (centre, outer radius) and hole radius.
    ring: Option<([f64; 2], f64, f64)>,
    /// A sign's border width.
    border: Option<f64>,
}

impl Plate {
    fn around(lo: [f64; 2], hi: [f64; 2], p: &TextParams) -> Option<Plate> {
        let m = f64::from(p.margin_mm);
        let (lo, hi) = ([lo[0] - m, lo[1] - m], [hi[0] + m, hi[1] + m]);
        let rect = RoundedRect::new(lo, hi, m);
        match p.layout {
            Layout::Solid => None,
            Layout::Plate => Some(Plate { rect, ring: None, border: None }),
            Layout::Keychain => {
                // The hole's edge meets the plate's left edge, `margin_mm` from the letters.
                let hole = f64::from(p.hole_mm) / 2.0;
                let centre = [lo[0] - hole, (lo[1] + hi[1]) / 2.0];
                let ring = hole + m.max(MIN_RING_MM);
                Some(Plate { rect, ring: Some((centre, ring, hole)), border: None })
            }
            Layout::Sign => Some(Plate { rect, ring: None, border: Some(f64::from(p.border_mm)) }),
        }
    }

    fn bounds(&self) -> ([f64; 2], [f64; 2]) {
        let r = &self.rect;
        let mut lo = [r.centre[0] - r.half[0], r.centre[1] - r.half[1]];
        let mut hi = [r.centre[0] + r.half[0], r.centre[1] + r.half[1]];
        if let Some((c, outer, _)) = self.ring {
            for k in 0..2 {
                lo[k] = lo[k].min(c[k] - outer);
                hi[k] = hi[k].max(c[k] + outer);
            }
        }
        (lo, hi)
    }

    /// The plate's signed distance at `p`.
    fn distance(&self, p: [f64; 2]) -> f64 {
        let rect = self.rect.distance(p);
        match self.ring {
            Some((c, outer, hole)) => {
                rect.min(circle_distance(p, c, outer)).max(-circle_distance(p, c, hole))
            }
            None => rect,
        }
    }
}

/// The text laid out: its merged outlines, its plate, and the grid its field is sampled on.
#[derive(Debug)]
pub struct Plan {
    /// Outer contours and holes, not overlapping (even-odd).
    contours: Vec<Vec<[f64; 2]>>,
    plate: Option<Plate>,
    pub grid: Grid,
    /// Layers of the field, margins included.
    pub layers: usize,
    pub params: TextParams,
}

impl Plan {
    /// Lays out `params.text` in `font`: errors for a glyph the font lacks, and for text with
    /// nothing to make.
    pub fn new(font: &Font<'_>, params: &TextParams) -> Result<Plan, EngineError> {
        params.validate()?;
        let setting = font::Setting {
            text: &params.text,
            letter_height_mm: f64::from(params.letter_height_mm),
            letter_spacing_mm: f64::from(params.letter_spacing_mm),
            line_spacing: f64::from(params.line_spacing),
            align: params.align,
            tolerance_mm: TOLERANCE_MM,
        };
        let drawn = font::lay_out(font, &setting)?;
        // Merged by the non-zero rule, as fonts are filled: overlaps become one outline.
        let contours: Vec<Vec<[f64; 2]>> =
            drawn.simplify_shape(FillRule::NonZero).into_iter().flatten().collect();
        let Some((lo, hi)) = bounds(&contours) else {
            return Err(EngineError::InvalidParameter(ParamError::new(
                "text",
                format!("draws nothing in {}: it has only spaces or empty glyphs", font.name()),
            )));
        };
        let plate = Plate::around(lo, hi, params);
        let (lo, hi) = plate.map_or((lo, hi), |p| p.bounds());
        let pitch = f64::from(params.pitch_mm());
        let pad = MARGIN as f64 * pitch;
        let cells = |k: usize| ((hi[k] - lo[k]) / pitch).ceil() as usize + 1 + 2 * MARGIN;
        let grid = Grid {
            origin: [lo[0] - pad, lo[1] - pad],
            pitch_mm: pitch,
            width: cells(0),
            height: cells(1),
        };
        let layers = crate::work::solid_layers(params.height_mm(), params.pitch_mm());
        let layers = usize::try_from(layers).unwrap_or(usize::MAX).saturating_add(2 * MARGIN);
        Ok(Plan { contours, plate, grid, layers, params: *params })
    }

    /// The field's size in voxels: across, down, up.
    pub fn dims(&self) -> [usize; 3] {
        [self.grid.width, self.grid.height, self.layers]
    }

    pub fn voxels(&self) -> u64 {
        self.dims().iter().fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
    }

    /// The letters' area in mm², holes taken out.
    pub fn area_mm2(&self) -> f64 {
        self.contours.iter().map(|c| signed_area(c)).sum::<f64>().abs()
    }

    /// The solid's field: the letters' exact distances (and the plate's), extruded.
    pub fn field(&self) -> SolidField {
        let p = &self.params;
        let band = f64::from(p.solid.bevel_mm) + 2.0 * self.grid.pitch_mm;
        let mut letters = polygon_distance(&self.contours, &self.grid, band);
        let plate = self.plate.map(|plate| {
            if let Some(width) = plate.border {
                // A sign's raised border: the plate's rectangle less its inset.
                let border = self.grid.map(|q| {
                    let rect = plate.rect.distance(q);
                    rect.max(-(rect + width)) as f32
                });
                letters.iter_mut().zip(border).for_each(|(d, b)| *d = d.min(b));
            }
            PlateField {
                outline_mm: self.grid.map(|q| plate.distance(q) as f32),
                height_mm: p.plate_mm,
            }
        });
        SolidField::from_outline(
            letters,
            [self.grid.width, self.grid.height],
            self.grid.pitch_mm as f32,
            p.solid,
            plate,
        )
    }
}

/// Twice-signed shoelace over 2: positive for counter-clockwise.
fn signed_area(c: &[[f64; 2]]) -> f64 {
    c.iter().zip(c.iter().cycle().skip(1)).map(|(a, b)| a[0] * b[1] - b[0] * a[1]).sum::<f64>()
        / 2.0
}

fn bounds(contours: &[Vec<[f64; 2]>]) -> Option<([f64; 2], [f64; 2])> {
    let mut points = contours.iter().flatten().peekable();
    points.peek()?;
    let mut lo = [f64::INFINITY; 2];
    let mut hi = [f64::NEG_INFINITY; 2];
    for p in points {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    Some((lo, hi))
}
