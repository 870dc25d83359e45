//! The flat floor under the solid cells, with as few triangles as the walls allow.
//!
//! Every row of cells is cut into runs; each run is a rectangle on the floor. The rectangle's
//! long edges carry a vertex wherever a neighbour needs one: at the ends of runs in the rows on
//! either side, and at every grid point along a wall. Both rectangles sharing a line use the same
//! points, so their edges match exactly and no T-junction appears. Each rectangle is then a strip
//! between its two point chains; without a mask that is two long triangles per interior row.

use super::{Corner, Face, Heightfield, runs_xor};

pub(crate) fn emit(hf: &Heightfield, emit: &mut impl FnMut(&Face)) {
    let cells = &hf.cells;
    let (mut above, mut below, mut xor) = (Vec::new(), Vec::new(), Vec::new());
    let mut line_points = |r: u32, out: &mut Vec<u32>| {
        cells.row_runs(i64::from(r) - 1, &mut above);
        cells.row_runs(i64::from(r), &mut below);
        runs_xor(&above, &below, &mut xor);
        out.clear();
        out.extend(above.iter().chain(&below).flat_map(|&(a, b)| [a, b]));
        out.extend(xor.iter().flat_map(|&(s, e)| s..=e));
        out.sort_unstable();
        out.dedup();
    };
    let (mut upper, mut lower, mut runs) = (Vec::new(), Vec::new(), Vec::new());
    line_points(0, &mut upper);
    for r in 0..cells.height() {
        line_points(r + 1, &mut lower);
        cells.row_runs(i64::from(r), &mut runs);
        for &(a, b) in &runs {
            strip((a, r), within(&upper, a, b), within(&lower, a, b), emit);
        }
        std::mem::swap(&mut upper, &mut lower);
    }
}

/// The points of sorted `points` in `[a, b]`.
fn within(points: &[u32], a: u32, b: u32) -> &[u32] {
    let start = points.partition_point(|&p| p < a);
    let end = points.partition_point(|&p| p <= b);
    &points[start..end]
}

/// Triangulates the floor of the run starting at `cell` between chain `top` on its grid line
/// and `bottom` on the next, facing down. Every triangle has two distinct points on one line
/// and one on the other, so none is degenerate.
fn strip(cell: (u32, u32), top: &[u32], bottom: &[u32], emit: &mut impl FnMut(&Face)) {
    const DOWN: [f32; 3] = [0.0, 0.0, -1.0];
    let r = cell.1;
    let t = |x: u32| Corner::floor((x, r));
    let b = |x: u32| Corner::floor((x, r + 1));
    let (mut i, mut k) = (0, 0);
    while i + 1 < top.len() || k + 1 < bottom.len() {
        let advance_top =
            k + 1 == bottom.len() || (i + 1 < top.len() && top[i + 1] <= bottom[k + 1]);
        let corners = if advance_top {
            i += 1;
            [t(top[i - 1]), t(top[i]), b(bottom[k])]
        } else {
            k += 1;
            [t(top[i]), b(bottom[k]), b(bottom[k - 1])]
        };
        emit(&Face { corners, normal: DOWN, cell });
    }
}
