//! Vertical walls along the outline of the solid cells, from the floor to the top surface.
//!
//! Each unit edge between a solid and an empty cell (or the grid's border) gets one quad of two
//! triangles, wound so its normal points out of the solid.

use super::{Heightfield, Triangle, runs_xor};

pub(crate) fn emit(hf: &Heightfield, emit: &mut impl FnMut(&Triangle)) {
    let cells = &hf.cells;
    let (mut above, mut below, mut xor) = (Vec::new(), Vec::new(), Vec::new());
    // Walls along grid rows: on line r, between cell rows r - 1 and r.
    for r in 0..=cells.height() {
        cells.row_runs(i64::from(r) - 1, &mut above);
        cells.row_runs(i64::from(r), &mut below);
        runs_xor(&above, &below, &mut xor);
        for &(s, e) in &xor {
            for x in s..e {
                if cells.is_solid(i64::from(x), i64::from(r)) {
                    // Solid below (lower y), open above: the wall faces +y.
                    quad(hf, (x + 1, r), (x, r), [0.0, 1.0, 0.0], emit);
                } else {
                    quad(hf, (x, r), (x + 1, r), [0.0, -1.0, 0.0], emit);
                }
            }
        }
    }
    // Walls along grid columns: the two ends of every run.
    for r in 0..cells.height() {
        cells.row_runs(i64::from(r), &mut below);
        for &(a, b) in &below {
            quad(hf, (a, r), (a, r + 1), [-1.0, 0.0, 0.0], emit);
            quad(hf, (b, r + 1), (b, r), [1.0, 0.0, 0.0], emit);
        }
    }
}

/// The quad over floor edge `p0 -> p1`. The edge must run along `z x normal`, which makes
/// `(p0, p1, q1)` and `(p0, q1, q0)` face `normal`.
fn quad(
    hf: &Heightfield,
    p0: (u32, u32),
    p1: (u32, u32),
    normal: [f32; 3],
    emit: &mut impl FnMut(&Triangle),
) {
    let floor0 = hf.vertex(p0.0, p0.1, 0.0);
    let floor1 = hf.vertex(p1.0, p1.1, 0.0);
    let top0 = hf.vertex(p0.0, p0.1, hf.thickness_at(p0.0, p0.1));
    let top1 = hf.vertex(p1.0, p1.1, hf.thickness_at(p1.0, p1.1));
    emit(&Triangle { normal, vertices: [floor0, floor1, top1] });
    emit(&Triangle { normal, vertices: [floor0, top1, top0] });
}
