//! Signed distances on a grid, from exact outlines: the text's polygons and the plates'
//! rounded rectangles and circles. The solid's field ([`crate::solid::SolidField`]) turns them
//! into an extrusion with a bevel, as it does an image's mask.

use rayon::prelude::*;

/// Samples `pitch_mm` apart, sample `(i, j)` at `origin + (i, j) * pitch_mm`, x fastest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub origin: [f64; 2],
    pub pitch_mm: f64,
    pub width: usize,
    pub height: usize,
}

impl Grid {
    pub fn at(&self, i: usize, j: usize) -> [f64; 2] {
        [self.origin[0] + i as f64 * self.pitch_mm, self.origin[1] + j as f64 * self.pitch_mm]
    }

    /// The first index whose coordinate (on an axis starting at `origin`) is at or above `v`.
    fn first_at_or_above(&self, v: f64, origin: f64, len: usize) -> usize {
        ((v - origin) / self.pitch_mm).ceil().clamp(0.0, len as f64) as usize
    }

    /// Each sample's value of `f`, rows in parallel.
    pub fn map(&self, f: impl Fn([f64; 2]) -> f32 + Sync) -> Vec<f32> {
        let mut out = vec![0.0; self.width * self.height];
        out.par_chunks_mut(self.width).enumerate().for_each(|(j, row)| {
            for (i, v) in row.iter_mut().enumerate() {
                *v = f(self.at(i, j));
            }
        });
        out
    }
}

/// Signed distance in millimetres from each sample to the outline of `contours` (even-odd,
/// non-overlapping: a union's output), negative inside. Exact within `band_mm` of the
/// outline; farther out it is the distance between samples (a transform of the inside mask),
/// which is all the bevel and the pillow need there.
pub fn polygon_distance(contours: &[Vec<[f64; 2]>], grid: &Grid, band_mm: f64) -> Vec<f32> {
    let (w, h) = (grid.width, grid.height);
    let inside = inside_mask(contours, grid);
    let far = crate::solid::signed_distance(&inside, w, h);
    let band = band_mm.max(grid.pitch_mm);
    // Each segment, filed under the rows within `band` of it.
    let segments: Vec<([f64; 2], [f64; 2])> = contours
        .iter()
        .flat_map(|c| c.iter().zip(c.iter().cycle().skip(1)).map(|(&a, &b)| (a, b)))
        .collect();
    let mut by_row: Vec<Vec<u32>> = vec![Vec::new(); h];
    for (s, (a, b)) in segments.iter().enumerate() {
        let lo = grid.first_at_or_above(a[1].min(b[1]) - band, grid.origin[1], h);
        let hi = grid.first_at_or_above(a[1].max(b[1]) + band, grid.origin[1], h);
        for row in &mut by_row[lo..hi] {
            row.push(s as u32);
        }
    }
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(j, row)| {
        let mut exact: Vec<f64> = far[j * w..][..w]
            .iter()
            .map(|&d| (f64::from(d.abs()) * grid.pitch_mm).max(band))
            .collect();
        let y = grid.at(0, j)[1];
        for &s in &by_row[j] {
            let (a, b) = segments[s as usize];
            let lo = grid.first_at_or_above(a[0].min(b[0]) - band, grid.origin[0], w);
            let hi = grid.first_at_or_above(a[0].max(b[0]) + band, grid.origin[0], w);
            for (i, d) in exact.iter_mut().enumerate().take(hi).skip(lo) {
                let x = grid.origin[0] + i as f64 * grid.pitch_mm;
                *d = d.min(segment_distance([x, y], a, b));
            }
        }
        for (i, (o, d)) in row.iter_mut().zip(exact).enumerate() {
            *o = if inside[j * w + i] { -d as f32 } else { d as f32 };
        }
    });
    out
}

/// Which samples lie inside `contours` (even-odd), by scanlines: an edge counts for the rows
/// from its lower end (included) to its upper end (excluded), so a vertex counts once.
fn inside_mask(contours: &[Vec<[f64; 2]>], grid: &Grid) -> Vec<bool> {
    let (w, h) = (grid.width, grid.height);
    let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); h];
    for contour in contours {
        for (&a, &b) in contour.iter().zip(contour.iter().cycle().skip(1)) {
            if a[1] == b[1] {
                continue;
            }
            let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
            let j0 = grid.first_at_or_above(lo[1], grid.origin[1], h);
            let j1 = grid.first_at_or_above(hi[1], grid.origin[1], h);
            for (j, row) in crossings.iter_mut().enumerate().take(j1).skip(j0) {
                let y = grid.at(0, j)[1];
                row.push(lo[0] + (y - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1]));
            }
        }
    }
    let mut inside = vec![false; w * h];
    inside.par_chunks_mut(w).zip(crossings.par_iter_mut()).for_each(|(row, xs)| {
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let i0 = grid.first_at_or_above(pair[0], grid.origin[0], w);
            let i1 = grid.first_at_or_above(pair[1], grid.origin[0], w);
            row[i0..i1.max(i0)].fill(true);
        }
    });
    inside
}

fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}

/// A rectangle with rounded corners: its centre, half its size, and the corners' radius.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoundedRect {
    pub centre: [f64; 2],
    pub half: [f64; 2],
    pub radius: f64,
}

impl RoundedRect {
    /// The rectangle `lo`..`hi` with corners rounded by `radius` (at most half its size).
    pub fn new(lo: [f64; 2], hi: [f64; 2], radius: f64) -> Self {
        let half = [(hi[0] - lo[0]) / 2.0, (hi[1] - lo[1]) / 2.0];
        let centre = [(hi[0] + lo[0]) / 2.0, (hi[1] + lo[1]) / 2.0];
        Self { centre, half, radius: radius.clamp(0.0, half[0].min(half[1])) }
    }

    /// Exact signed distance, negative inside.
    pub fn distance(&self, p: [f64; 2]) -> f64 {
        let q = [0, 1].map(|k| (p[k] - self.centre[k]).abs() - (self.half[k] - self.radius));
        let outside = q[0].max(0.0).hypot(q[1].max(0.0));
        outside + q[0].max(q[1]).min(0.0) - self.radius
    }
}

/// A circle's exact signed distance, negative inside.
pub fn circle_distance(p: [f64; 2], centre: [f64; 2], radius: f64) -> f64 {
    (p[0] - centre[0]).hypot(p[1] - centre[1]) - radius
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_with_a_hole_has_exact_distances_near_its_outline() {
        // A 10 mm square with a 4 mm square hole (wound the other way, as fonts do).
        let outer = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let hole = vec![[3.0, 3.0], [3.0, 7.0], [7.0, 7.0], [7.0, 3.0]];
        let grid = Grid { origin: [-2.05, -2.05], pitch_mm: 0.1, width: 142, height: 142 };
        let d = polygon_distance(&[outer, hole], &grid, 1.0);
        let exact = |p: [f64; 2]| {
            let o = RoundedRect::new([0.0, 0.0], [10.0, 10.0], 0.0).distance(p);
            let h = RoundedRect::new([3.0, 3.0], [7.0, 7.0], 0.0).distance(p);
            o.max(-h)
        };
        for j in 0..grid.height {
            for i in 0..grid.width {
                let want = exact(grid.at(i, j));
                let got = f64::from(d[j * grid.width + i]);
                assert_eq!(got < 0.0, want < 0.0, "inside at {:?}", grid.at(i, j));
                if want.abs() < 1.0 {
                    assert!((got - want).abs() < 1e-5, "{got} vs {want} at {:?}", grid.at(i, j));
                } else {
                    assert!(got.abs() >= 1.0 - 1e-9, "{got} far from the outline");
                }
            }
        }
    }
}
