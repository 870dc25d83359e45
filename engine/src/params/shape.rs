//! What a relief or lithophane is cut to and bent into: [`Shape`], its kinds and outlines.

use serde::{Deserialize, Serialize};

/// The shapes a relief or lithophane takes, by name (`shape`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeKind {
    Flat,
    Arc,
    Cylinder,
    Dome,
}

crate::names::named!(ShapeKind, "shape" {
    Flat => "flat", Arc => "arc", Cylinder => "cylinder", Dome => "dome",
});

/// The outline a flat panel is cut to: the image is cropped to it, and the frame and the
/// hanger's collar follow it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outline {
    /// The whole image.
    #[default]
    Rect,
    /// The largest circle the image holds, centred.
    Circle,
    /// The ellipse the image's rectangle holds.
    Oval,
    /// The largest heart the image holds, centred, its point down.
    Heart,
}

crate::names::named!(Outline, "outline" {
    Rect => "rect", Circle => "circle", Oval => "oval", Heart => "heart",
});

/// What a relief or lithophane is bent into. Thickness is measured along the surface's
/// normal: radially, from a smooth unlit side of constant radius.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "shape")]
pub enum Shape {
    /// A flat panel cut to `outline`, with a hole `hanger_mm` across at its top (0: none);
    /// or, with `feet`, a rectangle standing upright on a foot that flares out at 45 degrees
    /// on both sides along its bottom edge.
    Flat {
        #[serde(default)]
        outline: Outline,
        #[serde(default)]
        hanger_mm: f32,
        #[serde(default)]
        feet: bool,
    },
    /// Bent around a vertical axis through `degrees` (1 to 359): the image's width is the arc
    /// length at the outer surface, its height the panel's. The image faces outward, or
    /// inward (seen from the axis) with `inner`.
    Arc { degrees: f32, inner: bool },
    /// A closed tube, the image's width all the way round with no seam, standing on solid
    /// rings of the thickest thickness, `bottom_ring_mm` and `top_ring_mm` high. With
    /// `socket_mm`, the bottom ring closes into a plate with a hole that wide, for a lamp
    /// fitting.
    Cylinder {
        bottom_ring_mm: f32,
        top_ring_mm: f32,
        #[serde(default)]
        socket_mm: f32,
    },
    /// The image's inscribed circle on a spherical cap `degrees` across (10 to 180), its
    /// width the arc rim to rim, standing on a flat rim (see [`crate::mesh::Dome`]).
    Dome { degrees: f32 },
}

impl Default for Shape {
    fn default() -> Self {
        Shape::FLAT
    }
}

impl Shape {
    /// A flat, rectangular panel: what Lithos made before shapes.
    pub const FLAT: Shape = Shape::Flat { outline: Outline::Rect, hanger_mm: 0.0, feet: false };

    /// A flat rectangle with nothing added.
    pub fn is_plain(&self) -> bool {
        *self == Shape::FLAT
    }

    pub fn is_flat(&self) -> bool {
        matches!(self, Shape::Flat { .. })
    }

    /// Whether the panel is meshed through a [`crate::mesh::Bend`]: curved, or standing on
    /// feet. Such a panel is the whole grid, with no mask.
    pub fn is_bent(&self) -> bool {
        !matches!(self, Shape::Flat { feet: false, .. })
    }

    pub fn kind(&self) -> ShapeKind {
        match self {
            Shape::Flat { .. } => ShapeKind::Flat,
            Shape::Arc { .. } => ShapeKind::Arc,
            Shape::Cylinder { .. } => ShapeKind::Cylinder,
            Shape::Dome { .. } => ShapeKind::Dome,
        }
    }
}
