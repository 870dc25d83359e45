//! Adaptive bent panels: arcs, cylinders and panels standing on feet.
//!
//! Each grid column keeps as few of its points as hold every point of the column within the
//! bound of the line between its kept neighbours; neighbouring columns are then zipped into a
//! strip of triangles. Every grid point so lies on an edge along its own column, and a bend
//! never bends a column between kept rows (an arc or a cylinder turns across columns; a foot's
//! flare and a socket plate are straight along a column but for the rows where they begin,
//! which are kept), so along that edge the mesh is exactly the grid's column, straight in the
//! thickness: each point's distance from the surface, measured along the thickness (the
//! normal of the smooth unlit side), is its column's error, at most the bound.
//!
//! The unlit side is a copy of the grid at no thickness: its columns keep their ends and the
//! rows where a socket plate or a foot bends them. An arc's first and last columns keep every
//! point on both sides, for the walls that close them.

use rayon::prelude::*;

use super::Steps;
use crate::backend::Backend;
use crate::error::Result;
use crate::kernels::ColumnConfig;
use crate::mesh::{Bend, Curved, Heightfield};
use crate::params::ParamError;

/// Bisections of the bound a search for `max_triangles` makes: the bound to a millionth of
/// the thickness range.
const FITTING_TRIES: u32 = 20;

/// Per column, the rows it keeps: `rows[offsets[x]..offsets[x + 1]]`, in order, always the
/// first and the last.
#[derive(Clone, Debug, PartialEq)]
pub struct Kept {
    offsets: Vec<u32>,
    rows: Vec<u32>,
}

impl Kept {
    /// Every column's kept rows, from a function that fills one column's.
    fn new(width: u32, column: impl Fn(u32, &mut Vec<u32>) + Sync) -> Self {
        let columns: Vec<Vec<u32>> = (0..width)
            .into_par_iter()
            .map(|x| {
                let mut rows = Vec::new();
                column(x, &mut rows);
                rows
            })
            .collect();
        let mut offsets = Vec::with_capacity(columns.len() + 1);
        offsets.push(0u32);
        for column in &columns {
            offsets.push(offsets[offsets.len() - 1] + column.len() as u32);
        }
        Self { offsets, rows: columns.concat() }
    }

    /// Column `x`'s kept rows.
    pub fn column(&self, x: u32) -> &[u32] {
        &self.rows[self.offsets[x as usize] as usize..self.offsets[x as usize + 1] as usize]
    }

    /// Points kept, all columns together.
    pub fn count(&self) -> u32 {
        self.rows.len() as u32
    }

    /// The number of point `(x, y)` among all kept points, column by column; `None` when it
    /// is not kept.
    pub fn number(&self, x: u32, y: u32) -> Option<u32> {
        let k = self.column(x).binary_search(&y).ok()?;
        Some(self.offsets[x as usize] + k as u32)
    }

    /// Every kept point, column by column, as its number counts them.
    pub fn points(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.offsets.len() as u32 - 1).flat_map(|x| self.column(x).iter().map(move |&y| (x, y)))
    }

    /// Triangles in the strip between columns `x` and `x1`.
    pub fn strip_triangles(&self, x: u32, x1: u32) -> u64 {
        (self.column(x).len() + self.column(x1).len()) as u64 - 2
    }
}

/// A bent panel's adaptive sides: the points each column keeps on the image side and on the
/// unlit side.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    pub image: Kept,
    pub unlit: Kept,
}

impl Columns {
    /// The columns of `hf`, bent by `bend`, within `max_error_mm` of every grid point: the
    /// image side's found by the `column_keep` kernel (GPU, or its CPU twin).
    pub(crate) fn within(
        backend: &Backend,
        hf: &Heightfield,
        bend: &Bend,
        max_error_mm: f64,
    ) -> Result<Self> {
        Self::within_heights(backend, &Heights::new(hf), hf, bend, max_error_mm)
    }

    fn within_heights(
        backend: &Backend,
        heights: &Heights,
        hf: &Heightfield,
        bend: &Bend,
        max_error_mm: f64,
    ) -> Result<Self> {
        let (w, h) = (hf.width, hf.height);
        // Where a column bends: a foot flares from its first row on, in proportion to the
        // row on both sides; a socket plate turns the unlit side inward at its first row, runs
        // straight across to the hole, and turns down its wall for the last. A column is
        // straight between these rows, so they are the only ones kept for the shape's sake.
        let foot = bend.feet.map(|f| f.row);
        let plate = bend.socket.map(|s| [s.row, h - 2]);
        let walled = |x: u32| !bend.closed && (x == 0 || x == w - 1);
        // A bound finer than a step keeps every point.
        let keep = match heights.steps.bound(max_error_mm) {
            Some(bound) => {
                let config = ColumnConfig {
                    width: w,
                    height: h,
                    bound,
                    forced: foot.unwrap_or(u32::MAX),
                    walled: u32::from(!bend.closed),
                    ..Default::default()
                };
                backend.column_keep(&config, &heights.values)?
            }
            None => vec![1; heights.values.len()],
        };
        let image = Kept::new(w, |x, rows| {
            let column = &keep[(x * h) as usize..((x + 1) * h) as usize];
            rows.extend((0..h).filter(|&y| column[y as usize] != 0));
        });
        // The unlit side has no thickness: only its ends and bends.
        let unlit = Kept::new(w, |x, rows| {
            let bends = |y| foot == Some(y) || plate.is_some_and(|p| p.contains(&y));
            rows.extend((0..h).filter(|&y| y == 0 || y == h - 1 || walled(x) || bends(y)));
        });
        Ok(Self { image, unlit })
    }

    /// The columns of the smallest bound whose whole mesh, walls included, has at most
    /// `max_triangles` triangles.
    pub(crate) fn fitting(
        backend: &Backend,
        hf: &Heightfield,
        bend: &Bend,
        max_triangles: u64,
    ) -> Result<Self> {
        let walls = Curved::new(hf, *bend).walls();
        let triangles = |columns: &Columns| walls + columns.triangles(hf.width, bend.closed);
        let heights = Heights::new(hf);
        let within = |mm: f64| Self::within_heights(backend, &heights, hf, bend, mm);
        // Every point lies within the thickness range of any line between two others.
        let range = heights.steps.range_mm + 1.0;
        let coarsest = within(range)?;
        let least = triangles(&coarsest);
        if least > max_triangles {
            return Err(ParamError::new(
                "max_triangles",
                format!(
                    "{max_triangles} triangles cannot hold this panel: its walls alone take \
                     {walls}, and its coarsest sides {} more; allow at least {least}",
                    least - walls
                ),
            )
            .into());
        }
        // Bisect the bound, keeping the finest found to fit (counts fall as it grows).
        let (mut lo, mut hi, mut best) = (0.0f64, range, coarsest);
        for _ in 0..FITTING_TRIES {
            let mid = (lo + hi) / 2.0;
            let columns = within(mid)?;
            if triangles(&columns) <= max_triangles {
                (hi, best) = (mid, columns);
            } else {
                lo = mid;
            }
        }
        Ok(best)
    }

    /// Triangles on both sides: every strip between neighbouring columns (and, closed, the
    /// last back to the first).
    pub fn triangles(&self, width: u32, closed: bool) -> u64 {
        let strips = if closed { width } else { width - 1 };
        (0..strips)
            .map(|x| {
                let x1 = (x + 1) % width;
                self.image.strip_triangles(x, x1) + self.unlit.strip_triangles(x, x1)
            })
            .sum()
    }
}

/// A heightfield's thicknesses in steps for the `column_keep` kernel, as fine as its products
/// allow within i32.
struct Heights {
    steps: Steps,
    values: Vec<u32>,
}

impl Heights {
    fn new(hf: &Heightfield) -> Self {
        let steps = Steps::new(&hf.thickness, i32::MAX as u32 / (4 * hf.height));
        Self { steps, values: hf.thickness.par_iter().map(|&t| steps.of(t)).collect() }
    }
}

/// The strip between two columns' kept rows, `left` and `right`, zipped from the first row to
/// the last: each triangle has two corners on one column and one on the other, so none is
/// degenerate. Calls `each` with `(column, index)` corners, 0 for the left column, wound as
/// the image side's cells are (down the left, then across); on ties the right advances first,
/// so whole columns make the grid's own cells.
pub fn zip(left: &[u32], right: &[u32], each: &mut dyn FnMut([(u8, usize); 3])) {
    let (mut i, mut j) = (0usize, 0usize);
    while i + 1 < left.len() || j + 1 < right.len() {
        let right_first =
            j + 1 < right.len() && (i + 1 == left.len() || right[j + 1] <= left[i + 1]);
        if right_first {
            each([(0, i), (1, j + 1), (1, j)]);
            j += 1;
        } else {
            each([(0, i), (0, i + 1), (1, j)]);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_keeps_what_its_bound_needs() {
        let mut state = 0x2545_f491_u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 48) as u32
        };
        let h = 500u32;
        // Columns side by side, row-major: a ramp, spikes, a step, noise, waves.
        let columns: Vec<Vec<u32>> = vec![
            (0..h).map(|y| 100 + 7 * y).collect(),
            (0..h).map(|y| if y % 97 == 0 { 30_000 } else { 1_000 }).collect(),
            (0..h).map(|y| if y < 250 { 1_000 } else { 9_000 }).collect(),
            (0..h).map(|_| random()).collect(),
            (0..h).map(|y| (20_000.0 + 9_000.0 * (f64::from(y) * 0.05).sin()) as u32).collect(),
        ];
        let w = columns.len() as u32;
        let heights: Vec<u32> =
            (0..h).flat_map(|y| columns.iter().map(move |c| c[y as usize])).collect();
        for bound in [0u32, 10, 300, 5_000] {
            let config =
                ColumnConfig { width: w, height: h, bound, forced: 300, ..Default::default() };
            let mut keep = vec![0u32; heights.len()];
            crate::cpu::column_keep::column_keep(&config, &heights, &mut keep);
            for (x, t) in columns.iter().enumerate() {
                let kept = &keep[x * h as usize..(x + 1) * h as usize];
                let rows: Vec<usize> = (0..h as usize).filter(|&y| kept[y] != 0).collect();
                assert_eq!((rows[0], rows[rows.len() - 1]), (0, h as usize - 1), "the ends stay");
                assert!(rows.contains(&300), "a forced row stays");
                for pair in rows.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    for k in a + 1..b {
                        // Exactly, in integers: |t_k - chord| (b - a) <= bound (b - a).
                        let (ta, tb, tk) = (i64::from(t[a]), i64::from(t[b]), i64::from(t[k]));
                        let off = (tk - ta) * (b - a) as i64 - (tb - ta) * (k - a) as i64;
                        assert!(
                            off.abs() <= i64::from(bound) * (b - a) as i64,
                            "column {x} row {k}"
                        );
                    }
                }
                if x == 0 {
                    assert_eq!(
                        rows,
                        [0, 300, h as usize - 1],
                        "a ramp keeps its ends and the forced row"
                    );
                }
            }
        }
    }

    #[test]
    fn zipping_two_columns_tiles_the_strip() {
        let (left, right) = ([0u32, 3, 4, 9], [0u32, 1, 2, 6, 9]);
        let mut triangles = Vec::new();
        zip(&left, &right, &mut |t| triangles.push(t));
        assert_eq!(triangles.len(), left.len() + right.len() - 2);
        // Each is counter-clockwise as the cells are, with rows running down: twice its area
        // from (column, row) corners, column 0 at x 0 and column 1 at x 1.
        let mut area = 0i64;
        for t in &triangles {
            let p = t.map(|(c, i)| {
                let row = if c == 0 { left[i] } else { right[i] };
                (i64::from(c), i64::from(row))
            });
            let twice =
                (p[1].1 - p[0].1) * (p[2].0 - p[0].0) - (p[1].0 - p[0].0) * (p[2].1 - p[0].1);
            assert!(twice > 0, "{t:?} is wound as the cells are");
            area += twice;
        }
        assert_eq!(area, 2 * 9, "the strip's area, 9 rows of one column, twice");
    }
}
