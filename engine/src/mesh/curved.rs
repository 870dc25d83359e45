//! Arcs and cylinders: the thickness map bent around a vertical axis.
//!
//! A grid point `(x, y)` at height `z` (0 on the unlit side, its thickness on the image side)
//! goes to angle `phi = s (u - u0) / R` and radius `r = r0 + t z`, with `u = x * pitch` along
//! the image's width and `v` its height: `(r sin phi, -r cos phi, v)`. The axis is the z axis
//! and the panel's middle faces -y, toward the front of the bed. Thickness is so measured
//! radially, along the normal of the smooth unlit side, whose radius is constant.
//!
//! - An arc facing outward: `R` makes the image's width the arc length at the outer surface
//!   (radius `R` at the thickest point), `r0 = R - thickest`, `s = t = 1`.
//! - An arc facing inward: the smooth side outside at `R`, `r = R - z`; the angle runs the
//!   other way (`s = -1`) so the image reads unmirrored from the axis. The two sign flips keep
//!   the mapping's orientation, so the flat mesh's outward winding stays outward.
//! - A cylinder: the width all the way round, the last column of cells joining the first, so
//!   there is no seam wall; only the top and bottom edges are closed, by annular walls.
//!
//! - A panel standing on feet: no bend at all (`straight`), `(u - u0, -z, v)`: the unlit side
//!   in the plane y = 0, the image facing -y. Solid rows added below the image flare out on
//!   both sides at 45 degrees, row by row, down to the bed: the foot.
//! - A cylinder's socket plate: the bottom ring's rows of the unlit side leave its inner
//!   radius and run across the plate's top to the hole, then down the hole's wall (the last
//!   row is the hole's bottom edge), so the bottom wall becomes the plate's underside. The
//!   mesh keeps its vertex and triangle counts, and the plate is the ring's height thick.
//!
//! Unlike a flat panel's floor, the unlit side is a cell-for-cell copy of the grid (a long
//! floor triangle would cut a chord through the bend). Curved panels take no mask: the whole
//! grid is one part, with top point `(x, y)` at index `y w + x` and its floor twin `w h` on.

use std::io;

use super::adaptive::zip;
use super::{Columns, Corner, Heightfield, Triangle};
use crate::export::{PartSize, Parts, unit_normal};
use crate::params::{ParamError, Shape};

/// The bend of a curved panel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bend {
    /// The radius the image's width is measured at, in millimetres.
    pub radius: f32,
    /// The radius of the image side's thickest point and of the unlit side: the outer and
    /// inner radius of the panel.
    pub outer: f32,
    pub inner: f32,
    /// Whether the last column of cells joins the first (a cylinder).
    pub closed: bool,
    /// Millimetres along the grid per radian of the bend.
    pub per_radian: f32,
    /// A cylinder's socket plate.
    pub socket: Option<Socket>,
    /// A standing panel's foot; such a panel is not bent at all.
    pub feet: Option<Feet>,
    /// A dome's geometry, which places every point itself.
    pub dome: Option<super::Dome>,
    u0: f32,
    angle_sign: f32,
    r0: f32,
    radial_sign: f32,
}

/// The foot of a panel standing upright: its rows from `row` to the last flare out to
/// `reach` millimetres on both sides, at 45 degrees (the foot is `reach` high).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Feet {
    pub row: u32,
    pub reach: f32,
}

impl Feet {
    /// How many solid rows a foot adds below a panel `height_mm` tall: it reaches (and rises)
    /// an eighth of the height, 5 to 25 mm, at least two rows.
    pub fn rows(height_mm: f32, pitch_mm: f32) -> u32 {
        (((height_mm / 8.0).clamp(5.0, 25.0) / pitch_mm).round() as u32).max(2)
    }
}

/// The narrowest plate a socket hole leaves between itself and the cylinder's inside.
pub const SOCKET_RIM_MM: f32 = 2.0;

/// A plate across a cylinder's bottom ring with a round hole in the middle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Socket {
    /// The first grid row of the ring, where the unlit side turns inward.
    pub row: u32,
    /// The hole's radius, in millimetres.
    pub radius: f32,
    /// The plate's thickness: the ring's height.
    pub thickness: f32,
}

impl Bend {
    /// The bend of `hf` as `shape` asks, or why it cannot be made; `None` for a flat panel
    /// (one on feet is [`Bend::standing`]).
    pub fn of(hf: &Heightfield, shape: Shape) -> Result<Option<Self>, ParamError> {
        let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
        let p = hf.pitch_mm;
        let (bend, field, what) = match shape {
            Shape::Flat { .. } => return Ok(None),
            Shape::Arc { degrees, inner } => {
                let length = (hf.width - 1) as f32 * p;
                let radius = length / degrees.to_radians();
                // Inward, the smooth side is outside and the angle runs the other way.
                let (sign, r0) = if inner { (-1.0, radius) } else { (1.0, radius - thickest) };
                let bend = Bend {
                    radius,
                    outer: radius,
                    inner: radius - thickest,
                    closed: false,
                    per_radian: radius,
                    socket: None,
                    feet: None,
                    dome: None,
                    u0: length / 2.0,
                    angle_sign: sign,
                    r0,
                    radial_sign: sign,
                };
                let what = format!("an arc of {degrees} degrees {length:.1} mm long");
                (bend, "arc_deg", what)
            }
            Shape::Dome { degrees } => {
                let dome = super::Dome::of(hf, degrees)?;
                let outer = dome.inner + dome.thickest;
                return Ok(Some(Bend {
                    radius: outer,
                    outer,
                    inner: dome.inner,
                    closed: false,
                    per_radian: outer,
                    socket: None,
                    feet: None,
                    dome: Some(dome),
                    u0: 0.0,
                    angle_sign: 1.0,
                    r0: dome.inner,
                    radial_sign: 1.0,
                }));
            }
            Shape::Cylinder { bottom_ring_mm, socket_mm, .. } => {
                // The image's width, first point to last, is the circumference; the last
                // column of cells closes the gap back to the first, one cell of w around.
                let length = (hf.width - 1) as f32 * p;
                let radius = length / std::f32::consts::TAU;
                let mut bend = Bend {
                    radius,
                    outer: radius,
                    inner: radius - thickest,
                    closed: true,
                    per_radian: hf.width as f32 * p / std::f32::consts::TAU,
                    socket: None,
                    feet: None,
                    dome: None,
                    u0: 0.0,
                    angle_sign: 1.0,
                    r0: radius - thickest,
                    radial_sign: 1.0,
                };
                if socket_mm > 0.0 {
                    bend.socket = Some(Socket::of(hf, &bend, bottom_ring_mm, socket_mm)?);
                }
                (bend, "width_mm", format!("a cylinder {length:.1} mm round"))
            }
        };
        // The hollow must be at least as wide as the wall is thick, and the wall's inner
        // face must not fold onto itself.
        if bend.inner < thickest.max(1.0) {
            let change = if field == "arc_deg" {
                "a smaller `arc_deg` or a larger `width_mm`"
            } else {
                "a larger `width_mm`"
            };
            return Err(ParamError::new(
                field,
                format!(
                    "{what} has a radius of {:.1} mm, too tight for {thickest:.1} mm of \
                     thickness: its inner radius would be {:.1} mm, and must be at least {:.1} \
                     mm; use {change}",
                    bend.radius,
                    bend.inner,
                    thickest.max(1.0)
                ),
            ));
        }
        Ok(Some(bend))
    }

    /// A panel standing upright on feet whose `rows` solid rows `hf` ends with.
    pub fn standing(hf: &Heightfield, rows: u32) -> Self {
        let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
        Bend {
            radius: f32::INFINITY,
            outer: f32::INFINITY,
            inner: f32::INFINITY,
            closed: false,
            per_radian: f32::INFINITY,
            socket: None,
            feet: Some(Feet { row: hf.height - 1 - rows, reach: rows as f32 * hf.pitch_mm }),
            dome: None,
            u0: (hf.width - 1) as f32 * hf.pitch_mm / 2.0,
            angle_sign: 1.0,
            r0: -thickest,
            radial_sign: 1.0,
        }
    }

    /// Where grid point `(x, y)` at height `z` of `hf` goes.
    pub fn place(&self, hf: &Heightfield, x: u32, y: u32, z: f32) -> [f32; 3] {
        let u = x as f32 * hf.pitch_mm;
        let v = (hf.height - 1 - y) as f32 * hf.pitch_mm;
        if self.feet.is_some() {
            return [u - self.u0, -z, v];
        }
        let phi = self.angle_sign * (u - self.u0) / self.per_radian;
        let r = self.r0 + self.radial_sign * z;
        let (sin, cos) = phi.sin_cos();
        [r * sin, -r * cos, v]
    }

    /// Where the unlit side's twin of grid point `(x, y)` goes, and (`with_normal`) its
    /// normal there; a point alone costs no normal.
    fn unlit(&self, hf: &Heightfield, x: u32, y: u32, with_normal: bool) -> ([f32; 3], [f32; 3]) {
        if let Some(dome) = &self.dome {
            return dome.place(hf, x, y, false);
        }
        if let Some(flare) = self.flare(hf, y) {
            let [across, _, up] = self.place(hf, x, y, 0.0);
            let half = std::f32::consts::FRAC_1_SQRT_2;
            return ([across, flare, up], [0.0, half, half]);
        }
        let bent = || {
            let normal = if with_normal { self.turn(hf, x, [0.0, 0.0, -1.0]) } else { [0.0; 3] };
            (self.place(hf, x, y, 0.0), normal)
        };
        let Some(socket) = self.socket.filter(|s| y > s.row) else { return bent() };
        let phi = self.angle_sign * (x as f32 * hf.pitch_mm - self.u0) / self.per_radian;
        let (sin, cos) = phi.sin_cos();
        let around = |r: f32, v: f32| [r * sin, -r * cos, v];
        let last = hf.height - 1;
        if y == last {
            // The hole's bottom edge, its wall facing the axis.
            return (around(socket.radius, 0.0), [-sin, cos, 0.0]);
        }
        // Across the plate's top, evenly from the inner radius to the hole's.
        let f = (y - socket.row) as f32 / (last - 1 - socket.row) as f32;
        let r = self.inner + f * (socket.radius - self.inner);
        (around(r, socket.thickness), [0.0, 0.0, 1.0])
    }

    /// This bend on a grid sampled every `step`-th point, `height` rows (a thumbnail's).
    pub(crate) fn sampled(mut self, step: u32, height: u32) -> Self {
        if let Some(feet) = &mut self.feet {
            feet.row = (feet.row / step).min(height - 2);
        }
        if let Some(socket) = &mut self.socket {
            socket.row = (socket.row / step).min(height.saturating_sub(3));
        }
        self
    }

    /// Where grid point `(x, y)` of `hf` goes on the image side, and (`with_normal`) its
    /// normal there.
    fn image_side(
        &self,
        hf: &Heightfield,
        x: u32,
        y: u32,
        with_normal: bool,
    ) -> ([f32; 3], [f32; 3]) {
        if let Some(dome) = &self.dome {
            return dome.place(hf, x, y, true);
        }
        let t = hf.thickness_at(x, y);
        if let Some(flare) = self.flare(hf, y) {
            let [across, _, up] = self.place(hf, x, y, 0.0);
            let half = std::f32::consts::FRAC_1_SQRT_2;
            return ([across, -(t + flare), up], [0.0, -half, half]);
        }
        if !with_normal {
            return (self.place(hf, x, y, t), [0.0; 3]);
        }
        let normal = super::indexed::top_normal(hf, x, y);
        (self.place(hf, x, y, t), self.turn(hf, x, normal))
    }

    /// How far row `y` of a foot reaches out to each side: 0 where it meets the panel, the
    /// foot's reach on the bed. `None` above the foot.
    fn flare(&self, hf: &Heightfield, y: u32) -> Option<f32> {
        let feet = self.feet.filter(|f| y > f.row)?;
        Some(feet.reach * (y - feet.row) as f32 / (hf.height - 1 - feet.row) as f32)
    }

    /// A direction `(along the width, up, out of the image side)` at grid column `x`, bent.
    fn turn(&self, hf: &Heightfield, x: u32, n: [f32; 3]) -> [f32; 3] {
        let u = x as f32 * hf.pitch_mm;
        let phi = self.angle_sign * (u - self.u0) / self.per_radian;
        let (sin, cos) = phi.sin_cos();
        let along = [self.angle_sign * cos, self.angle_sign * sin, 0.0];
        let out = [self.radial_sign * sin, -self.radial_sign * cos, 0.0];
        let v =
            [0, 1, 2].map(|k| n[0] * along[k] + n[2] * out[k] + if k == 2 { n[1] } else { 0.0 });
        let length = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        v.map(|c| c / length)
    }
}

impl Socket {
    /// The plate in `bend`'s bottom ring, `ring_mm` high, with a hole `socket_mm` across; or
    /// why it cannot be made.
    fn of(hf: &Heightfield, bend: &Bend, ring_mm: f32, socket_mm: f32) -> Result<Self, ParamError> {
        let rows = (ring_mm / hf.pitch_mm).round() as u32;
        if rows < 2 {
            return Err(ParamError::new(
                "ring_mm",
                format!(
                    "a socket plate needs a bottom ring at least two grid rows ({:.2} mm) high, \
                     got {ring_mm} mm: use a larger `ring_mm`",
                    2.0 * hf.pitch_mm
                ),
            ));
        }
        let radius = socket_mm / 2.0;
        let widest = 2.0 * (bend.inner - SOCKET_RIM_MM);
        if socket_mm > widest {
            return Err(ParamError::new(
                "socket_mm",
                format!(
                    "a {socket_mm} mm hole leaves no plate in a cylinder {:.1} mm across inside; \
                     at most {widest:.1} mm fits: use a smaller `socket_mm` or a larger `width_mm`",
                    2.0 * bend.inner
                ),
            ));
        }
        Ok(Socket { row: hf.height - 1 - rows, radius, thickness: rows as f32 * hf.pitch_mm })
    }
}

/// A curved panel's mesh, one closed part. Its bounds (a pass over every point) are found
/// when first asked for: an STL needs only its triangle count.
pub(crate) struct Curved<'a> {
    hf: &'a Heightfield,
    bend: Bend,
    /// Adaptive sides ([`Columns`]); `None` for every grid point.
    columns: Option<&'a Columns>,
    sizes: std::sync::OnceLock<[PartSize; 1]>,
    /// An arc's or a cylinder's angle at each column, as sine and cosine: a triangle's
    /// corners then cost no trigonometry.
    turns: Vec<(f32, f32)>,
}

impl<'a> Curved<'a> {
    pub fn new(hf: &'a Heightfield, bend: Bend) -> Self {
        let bent = bend.dome.is_none() && bend.feet.is_none();
        let turns = (0..if bent { hf.width } else { 0 })
            .map(|x| {
                (bend.angle_sign * (x as f32 * hf.pitch_mm - bend.u0) / bend.per_radian).sin_cos()
            })
            .collect();
        let columns = hf.columns.as_ref();
        Self { hf, bend, columns, sizes: std::sync::OnceLock::new(), turns }
    }

    /// Two triangles a cell on each side (or the adaptive columns' strips), and the walls.
    pub fn triangles(&self) -> u64 {
        let sides = match self.columns {
            Some(columns) => columns.triangles(self.hf.width, self.bend.closed),
            None => 4 * u64::from(self.columns()) * u64::from(self.hf.height - 1),
        };
        sides + self.walls()
    }

    /// A quad (two triangles) for every edge closed by a wall: the top and bottom rows, and
    /// for an arc the first and last columns.
    pub fn walls(&self) -> u64 {
        let rows = u64::from(self.hf.height - 1);
        let sides = if self.bend.closed { 0 } else { 2 * rows };
        2 * (2 * u64::from(self.columns()) + sides)
    }

    /// The part's size: its counts, and its bounds from every point, row by row in parallel.
    fn size(&self) -> PartSize {
        use rayon::prelude::*;
        let (hf, bend) = (self.hf, &self.bend);
        if let Some(columns) = self.columns {
            let mut size = PartSize::empty();
            for (x, y) in columns.image.points() {
                size.include(bend.image_side(hf, x, y, false).0);
            }
            for (x, y) in columns.unlit.points() {
                size.include(bend.unlit(hf, x, y, false).0);
            }
            size.vertices = u64::from(columns.image.count() + columns.unlit.count());
            size.triangles = self.triangles();
            return size;
        }
        let mut size = (0..hf.height)
            .into_par_iter()
            .map(|y| {
                let mut row = PartSize::empty();
                for x in 0..hf.width {
                    row.include(bend.image_side(hf, x, y, false).0);
                    row.include(bend.unlit(hf, x, y, false).0);
                }
                row
            })
            .reduce(PartSize::empty, |mut a, b| {
                a.include(b.min);
                a.include(b.max);
                a
            });
        size.vertices = 2 * u64::from(hf.width) * u64::from(hf.height);
        size.triangles = self.triangles();
        size
    }

    fn columns(&self) -> u32 {
        if self.bend.closed { self.hf.width } else { self.hf.width - 1 }
    }

    /// Corner `c`'s vertex number: row by row on each side, or with adaptive columns, column
    /// by column among the points kept.
    fn index(&self, c: Corner) -> u32 {
        let (w, h) = (self.hf.width, self.hf.height);
        let Some(columns) = self.columns else {
            return c.y * w + c.x + if c.top { 0 } else { w * h };
        };
        let number = if c.top {
            columns.image.number(c.x, c.y)
        } else {
            columns.unlit.number(c.x, c.y).map(|n| columns.image.count() + n)
        };
        debug_assert!(number.is_some(), "a corner the columns keep: {c:?}");
        number.unwrap_or(0)
    }

    /// Where corner `c` lies.
    fn position(&self, c: Corner) -> [f32; 3] {
        let h = self.hf.height;
        let (x, y, top) = (c.x, c.y, c.top);
        let plate = self.bend.socket.is_some_and(|s| y > s.row);
        if let Some(&(sin, cos)) = self.turns.get(x as usize)
            && (top || !plate)
        {
            // As `Bend::place` does, with the column's turn looked up.
            let z = if top { self.hf.thickness_at(x, y) } else { 0.0 };
            let r = self.bend.r0 + self.bend.radial_sign * z;
            return [r * sin, -r * cos, (h - 1 - y) as f32 * self.hf.pitch_mm];
        }
        if top {
            self.bend.image_side(self.hf, x, y, false).0
        } else {
            self.bend.unlit(self.hf, x, y, false).0
        }
    }

    /// Every triangle, by its corners: the image side and the unlit side (cell by cell, or
    /// in adaptive columns' strips), then the walls that close the edges.
    fn faces(&self, each: &mut dyn FnMut([Corner; 3]) -> io::Result<()>) -> io::Result<()> {
        let (w, h) = (self.hf.width, self.hf.height);
        let columns = self.columns();
        match self.columns {
            Some(kept) => self.strips(kept, each)?,
            None => self.cells(each)?,
        }
        // Walls as walls.rs winds them: the quad over edge p0 -> p1.
        let mut quad = |p0: (u32, u32), p1: (u32, u32)| -> io::Result<()> {
            each([Corner::floor(p0), Corner::floor(p1), Corner::top(p1)])?;
            each([Corner::floor(p0), Corner::top(p1), Corner::top(p0)])
        };
        let last = h - 1;
        for x in 0..columns {
            let x1 = (x + 1) % w;
            quad((x1, 0), (x, 0))?;
            quad((x, last), (x1, last))?;
        }
        if !self.bend.closed {
            for r in 0..h - 1 {
                quad((0, r), (0, r + 1))?;
                quad((w - 1, r + 1), (w - 1, r))?;
            }
        }
        Ok(())
    }

    /// Both sides cell by cell.
    fn cells(&self, each: &mut dyn FnMut([Corner; 3]) -> io::Result<()>) -> io::Result<()> {
        let (w, h) = (self.hf.width, self.hf.height);
        for y in 0..h - 1 {
            for x in 0..self.columns() {
                let x1 = (x + 1) % w;
                let (a, b, c, d) = ((x, y), (x1, y), (x, y + 1), (x1, y + 1));
                let t = Corner::top;
                let f = Corner::floor;
                // As the top-surface kernel splits a cell, and the unlit side reversed.
                each([t(a), t(c), t(d)])?;
                each([t(a), t(d), t(b)])?;
                each([f(a), f(d), f(c)])?;
                each([f(a), f(b), f(d)])?;
            }
        }
        Ok(())
    }

    /// Adaptive columns' sides: each strip between neighbouring columns zipped, on the image
    /// side wound as its cells are, on the unlit side reversed.
    fn strips(
        &self,
        kept: &Columns,
        each: &mut dyn FnMut([Corner; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        let w = self.hf.width;
        let mut failure = None;
        for x in 0..self.columns() {
            let x1 = (x + 1) % w;
            for (side, top) in [(&kept.image, true), (&kept.unlit, false)] {
                let (left, right) = (side.column(x), side.column(x1));
                zip(left, right, &mut |t| {
                    let corner = |(column, i): (u8, usize)| {
                        let (x, y) = if column == 0 { (x, left[i]) } else { (x1, right[i]) };
                        Corner { x, y, top }
                    };
                    let [a, b, c] = t.map(corner);
                    if failure.is_none() {
                        failure = each(if top { [a, b, c] } else { [a, c, b] }).err();
                    }
                });
                if let Some(e) = failure.take() {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Every triangle with its face normal, in order.
    pub fn each_triangle(&self, each: &mut dyn FnMut(&Triangle)) {
        let _ = self.faces(&mut |corners| {
            let vertices = corners.map(|c| self.position(c));
            each(&Triangle { normal: unit_normal(vertices), vertices });
            Ok(())
        });
    }
}

impl Parts for Curved<'_> {
    fn sizes(&self) -> &[PartSize] {
        self.sizes.get_or_init(|| [self.size()])
    }

    fn vertices(
        &self,
        _part: usize,
        each: &mut dyn FnMut([f32; 3], [f32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        let (w, h) = (self.hf.width, self.hf.height);
        if let Some(columns) = self.columns {
            for (x, y) in columns.image.points() {
                let (at, normal) = self.bend.image_side(self.hf, x, y, true);
                each(at, normal)?;
            }
            for (x, y) in columns.unlit.points() {
                let (at, normal) = self.bend.unlit(self.hf, x, y, true);
                each(at, normal)?;
            }
            return Ok(());
        }
        for y in 0..h {
            for x in 0..w {
                let (at, normal) = self.bend.image_side(self.hf, x, y, true);
                each(at, normal)?;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let (at, normal) = self.bend.unlit(self.hf, x, y, true);
                each(at, normal)?;
            }
        }
        Ok(())
    }

    fn triangles(
        &self,
        _part: usize,
        each: &mut dyn FnMut([u32; 3]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.faces(&mut |corners| each(corners.map(|c| self.index(c))))
    }
}
