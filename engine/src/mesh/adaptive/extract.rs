//! Top-down extraction of the RTIN mesh within a bound, from the error pyramid.

use super::Grid;
use crate::kernels::POINT_INTERIOR;
use crate::mesh::Cells;

type Point = [u32; 2];

/// Levels split in parallel: below them a subtree is walked on one thread.
const PARALLEL_DEPTH: u32 = 8;

/// The triangles whose midpoints' errors are within `bound`, counter-clockwise from above,
/// as grid indices; triangles with no solid cell are dropped.
pub(super) fn triangles(grid: &Grid, errors: &[u32], cells: &Cells, bound: u32) -> Vec<[u32; 3]> {
    let n = grid.size - 1;
    let walk = Walk { grid, errors, cells, bound };
    let (mut first, second) = rayon::join(
        || walk.collect([0, 0], [n, n], [0, n], 1),
        || walk.collect([n, n], [0, 0], [n, 0], 1),
    );
    first.extend(second);
    first
}

struct Walk<'a> {
    grid: &'a Grid,
    errors: &'a [u32],
    cells: &'a Cells,
    bound: u32,
}

impl Walk<'_> {
    /// The triangles of the subtree of triangle `(a, b, c)`: hypotenuse `a`-`b`, apex `c`.
    fn collect(&self, a: Point, b: Point, c: Point, depth: u32) -> Vec<[u32; 3]> {
        if depth >= PARALLEL_DEPTH {
            let mut out = Vec::new();
            self.visit(a, b, c, &mut out);
            return out;
        }
        match self.split(a, b) {
            Some(m) => {
                let (mut first, second) = rayon::join(
                    || self.collect(c, a, m, depth + 1),
                    || self.collect(b, c, m, depth + 1),
                );
                first.extend(second);
                first
            }
            None => {
                let mut out = Vec::new();
                self.emit(a, b, c, &mut out);
                out
            }
        }
    }

    fn visit(&self, a: Point, b: Point, c: Point, out: &mut Vec<[u32; 3]>) {
        match self.split(a, b) {
            Some(m) => {
                self.visit(c, a, m, out);
                self.visit(b, c, m, out);
            }
            None => self.emit(a, b, c, out),
        }
    }

    /// The midpoint of hypotenuse `a`-`b` if the triangle splits there.
    fn split(&self, a: Point, b: Point) -> Option<Point> {
        let (sx, sy) = (a[0] + b[0], a[1] + b[1]);
        if sx % 2 == 1 || sy % 2 == 1 {
            return None; // half a cell: the finest level
        }
        let m = [sx / 2, sy / 2];
        (self.errors[(m[1] * self.grid.size + m[0]) as usize] > self.bound).then_some(m)
    }

    /// Keeps an unsplit triangle if it covers solid cells.
    fn emit(&self, a: Point, b: Point, c: Point, out: &mut Vec<[u32; 3]>) {
        let (sx, sy) = (a[0] + b[0], a[1] + b[1]);
        let solid = if sx % 2 == 1 || sy % 2 == 1 {
            // Half of the cell at the hypotenuse's lower corner.
            let cell = (a[0].min(b[0]), a[1].min(b[1]));
            self.cells.is_solid(cell.0.into(), cell.1.into())
        } else {
            // An unsplit larger triangle is all solid or all empty: its midpoint says which.
            let m = (sy / 2 * self.grid.size + sx / 2) as usize;
            self.grid.points[m] >> 16 == POINT_INTERIOR
        };
        if !solid {
            return;
        }
        let w = self.grid.width;
        let index = |p: Point| p[1] * w + p[0];
        // Counter-clockwise from above: grid rows run down, so clockwise in grid terms.
        let cross = (i64::from(b[0]) - i64::from(a[0])) * (i64::from(c[1]) - i64::from(a[1]))
            - (i64::from(b[1]) - i64::from(a[1])) * (i64::from(c[0]) - i64::from(a[0]));
        if cross < 0 {
            out.push([index(a), index(b), index(c)]);
        } else {
            out.push([index(a), index(c), index(b)]);
        }
    }
}
