//! Top-down extraction of the RTIN mesh within a bound, from the error pyramid.

use super::Grid;
use crate::kernels::POINT_INTERIOR;
use crate::mesh::Cells;

type Point = [u32; 2];

/// Levels walked before the subtrees below them are walked in parallel.
const PARALLEL_DEPTH: u32 = 10;

/// The triangles whose midpoints' errors are within `bound`, counter-clockwise from above,
/// as grid indices; triangles with no solid cell are dropped. The top levels are walked first,
/// then the subtrees below them in parallel, joined once in order.
pub(super) fn triangles(grid: &Grid, errors: &[u32], cells: &Cells, bound: u32) -> Vec<[u32; 3]> {
    use rayon::prelude::*;
    let n = grid.size - 1;
    let walk = Walk { grid, errors, cells, bound };
    // Subtrees in order: a root still to walk, or a triangle kept above the parallel depth.
    let mut roots: Vec<(Point, Point, Point, bool)> =
        vec![([0, 0], [n, n], [0, n], true), ([n, n], [0, 0], [n, 0], true)];
    for _ in 0..PARALLEL_DEPTH {
        let mut next = Vec::with_capacity(2 * roots.len());
        for (a, b, c, open) in roots {
            match walk.split(a, b).filter(|_| open) {
                Some(m) => {
                    next.push((c, a, m, true));
                    next.push((b, c, m, true));
                }
                None => next.push((a, b, c, false)),
            }
        }
        roots = next;
    }
    let parts: Vec<Vec<[u32; 3]>> = roots
        .par_iter()
        .map(|&(a, b, c, open)| {
            let mut out = Vec::new();
            if open {
                walk.visit(a, b, c, &mut out);
            } else {
                walk.emit(a, b, c, &mut out);
            }
            out
        })
        .collect();
    let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        all.extend_from_slice(&part);
    }
    all
}

struct Walk<'a> {
    grid: &'a Grid,
    errors: &'a [u32],
    cells: &'a Cells,
    bound: u32,
}

impl Walk<'_> {
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
