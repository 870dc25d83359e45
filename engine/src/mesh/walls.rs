//! Vertical walls along the outline of the solid cells, from the floor to the top surface.
//!
//! Each unit edge between a solid and an empty cell (or the grid's border) gets one quad of two
//! triangles, wound so its normal points out of the solid.

use super::{Corner, Face, Heightfield, runs_xor};

pub(crate) fn emit(hf: &Heightfield, emit: &mut impl FnMut(&Face)) {
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
                    quad((x + 1, r), (x, r), [0.0, 1.0, 0.0], (x, r), emit);
                } else {
                    quad((x, r), (x + 1, r), [0.0, -1.0, 0.0], (x, r - 1), emit);
                }
            }
        }
    }
    // Walls along grid columns: the two ends of every run.
    for r in 0..cells.height() {
        cells.row_runs(i64::from(r), &mut below);
        for &(a, b) in &below {
            quad((a, r), (a, r + 1), [-1.0, 0.0, 0.0], (a, r), emit);
            quad((b, r + 1), (b, r), [1.0, 0.0, 0.0], (b - 1, r), emit);
        }
    }
}

/// The quad over floor edge `p0 -> p1` of solid `cell`. The edge must run along
/// `z x normal`, which makes `(p0, p1, q1)` and `(p0, q1, q0)` face `normal`.
fn quad(
    p0: (u32, u32),
    p1: (u32, u32),
    normal: [f32; 3],
    cell: (u32, u32),
    emit: &mut impl FnMut(&Face),
) {
    let floor0 = Corner::floor(p0);
    let floor1 = Corner::floor(p1);
    let top0 = Corner::top(p0);
    let top1 = Corner::top(p1);
    emit(&Face { corners: [floor0, floor1, top1], normal, cell });
    emit(&Face { corners: [floor0, top1, top0], normal, cell });
}
