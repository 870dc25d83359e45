//! Adaptive top surfaces: as few triangles as keep every grid point within a bound of the mesh.
//!
//! Three steps, each exact:
//!
//! 1. **An error pyramid** over a right-triangulated irregular network (RTIN) on the grid,
//!    padded to a square of `2^k + 1` points: the `rtin_error` kernel (GPU, or its CPU twin)
//!    gives every midpoint the largest exact error of the triangles it splits and of their
//!    descendants. Triangles that mix solid and empty cells, or carry a point of the outline
//!    other than their corners, are forced to split, so the outline keeps every vertex and the
//!    walls stitch to the surface exactly as on the full grid. Under a bound, a midpoint whose
//!    children's errors plus its own distance from its hypotenuse stay within it stores that
//!    sum without scanning; which errors exceed the bound is unchanged.
//! 2. **Extraction** (`extract.rs`): top-down, a triangle splits where its midpoint's error
//!    exceeds the bound. Both triangles on a hypotenuse read the same midpoint, and a parent's
//!    error covers its children's, so the mesh has no cracks.
//! 3. **Vertex removal** (`collapse.rs`): rounds of half-edge collapses over independent
//!    vertices, each kept only when the exact error over every grid point under the changed
//!    triangles stays within the bound. RTIN alone needs 14 to 86% more triangles than greedy
//!    insertion (hmm); removal takes it below.
//!
//! Heights are quantised to 16-bit steps of the thickness range so that every error is exact
//! integer arithmetic on both backends; the bound in steps is lowered by one step to cover the
//! rounding, so the guarantee holds for the real heights.

mod collapse;
mod columns;
mod extract;

pub(crate) use columns::zip;
pub use columns::{Columns, Kept};

use super::{Cells, Heightfield};
use crate::backend::Backend;
use crate::error::Result;
use crate::kernels::{ERROR_FORCED, POINT_INTERIOR, POINT_OUTSIDE, POINT_RIM, RtinConfig};
use crate::params::ParamError;

/// Full simplifications a search for `max_triangles` tries, after narrowing the bound down
/// on the cheap counts of unsimplified meshes.
const FITTING_TRIES: u32 = 8;

/// An adaptive top surface: triangles over grid points, counter-clockwise seen from above.
#[derive(Clone)]
pub struct Surface {
    /// Corners as grid indices, `y * width + x`.
    pub triangles: Vec<[u32; 3]>,
}

impl std::fmt::Debug for Surface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Surface({} triangles)", self.triangles.len())
    }
}

/// A heightfield's grid prepared for meshing: quantised heights, each point's class, and the
/// padded square the pyramid runs on.
pub(crate) struct Grid {
    pub width: u32,
    pub height: u32,
    /// Points per side of the padded square, `2^k + 1`.
    pub size: u32,
    /// How heights are stepped.
    pub steps: Steps,
    /// Per padded point, its height step in the low 16 bits and its class above.
    pub points: Vec<u32>,
}

impl Grid {
    pub fn new(hf: &Heightfield) -> Self {
        use rayon::prelude::*;
        let (w, h) = (hf.width, hf.height);
        let n = (w.max(h) - 1).next_power_of_two();
        let size = n + 1;
        // Products of a step and a square's side stay within i32.
        let steps = Steps::new(&hf.thickness, i32::MAX as u32 / n);
        let mut points = vec![POINT_OUTSIDE; (size * size) as usize];
        points.par_chunks_mut(size as usize).take(h as usize).enumerate().for_each(|(y, row)| {
            let y = y as u32;
            for (x, word) in row.iter_mut().take(w as usize).enumerate() {
                let x = x as u32;
                *word = steps.of(hf.thickness_at(x, y)) | class(&hf.cells, x, y) << 16;
            }
        });
        Self { width: w, height: h, size, steps, points }
    }

    pub fn levels(&self, cap: u32, estimate: bool) -> Vec<RtinConfig> {
        levels(self.size, cap, estimate)
    }

    pub fn height_steps(&self) -> Vec<u16> {
        let mut q = Vec::with_capacity((self.width * self.height) as usize);
        for y in 0..self.height {
            let row = (y * self.size) as usize;
            q.extend(self.points[row..row + self.width as usize].iter().map(|&p| p as u16));
        }
        q
    }
}

/// Thicknesses as whole steps of their range, so that every error is exact integer arithmetic
/// on both backends: 0 at the thinnest point, `levels` at the thickest.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Steps {
    lo: f32,
    step_mm: f64,
    levels: u32,
    /// From the thinnest point to the thickest, in millimetres.
    pub range_mm: f64,
}

impl Steps {
    /// Steps for `thickness`, at most 16 bits and at most `most` of them.
    pub fn new(thickness: &[f32], most: u32) -> Self {
        use rayon::prelude::*;
        let (lo, hi) = thickness
            .par_iter()
            .fold(|| (f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &t| (lo.min(t), hi.max(t)))
            .reduce(|| (f32::INFINITY, f32::NEG_INFINITY), |a, b| (a.0.min(b.0), a.1.max(b.1)));
        let levels = most.min(0xffff);
        let range_mm = if hi > lo { f64::from(hi - lo) } else { 0.0 };
        let step_mm = if range_mm > 0.0 { range_mm / f64::from(levels) } else { 1.0 };
        Self { lo, step_mm, levels, range_mm }
    }

    /// Thickness `t` in steps.
    pub fn of(&self, t: f32) -> u32 {
        ((f64::from(t - self.lo) / self.step_mm).round() as u32).min(self.levels)
    }

    /// The bound `max_error_mm` in whole steps, one step under it to cover the rounding of
    /// heights to steps (half a step at a point, and at most half at what it is held to);
    /// `None` when it is finer than a step. At most the thickest step: every height lies that
    /// close to anything between two others.
    pub fn bound(&self, max_error_mm: f64) -> Option<u32> {
        let steps = (max_error_mm / self.step_mm - 1.0 - 1e-9).floor();
        (steps >= 0.0).then(|| steps.min(f64::from(self.levels)) as u32)
    }
}

/// The error pyramid's levels on a padded grid of `size` x `size` points (`2^k + 1`), finest
/// first, with errors above `cap` left inexact: the dispatches of the `rtin_error` kernel.
/// With `estimate`, errors within `cap` are upper bounds wherever a bound without scanning
/// keeps within it (which exceed `cap` is unchanged, so is the mesh extracted at `cap`); the
/// cap then stays below `2^31` so that a bound cannot overflow.
pub fn levels(size: u32, cap: u32, estimate: bool) -> Vec<RtinConfig> {
    let n = size - 1;
    let k = n.trailing_zeros();
    let (cap, estimate) = if estimate { (cap.min(i32::MAX as u32), 1) } else { (cap, 0) };
    let mut levels = Vec::new();
    for j in (0..k).rev() {
        let (square, squares) = (n >> j, 1u32 << j);
        let base = RtinConfig { size, square, squares, cap, estimate, ..Default::default() };
        levels.push(RtinConfig { count: 2 * squares * (squares + 1), odd: 1, ..base });
        levels.push(RtinConfig { count: squares * squares, odd: 0, ..base });
    }
    levels
}

/// The class of grid point `(x, y)`: outside, on the outline, or interior.
fn class(cells: &Cells, x: u32, y: u32) -> u32 {
    let (x, y) = (i64::from(x), i64::from(y));
    let solid = [(x - 1, y - 1), (x, y - 1), (x - 1, y), (x, y)]
        .iter()
        .filter(|&&(cx, cy)| cells.is_solid(cx, cy))
        .count();
    match solid {
        0 => POINT_OUTSIDE,
        4 => POINT_INTERIOR,
        _ => POINT_RIM,
    }
}

impl Surface {
    /// The thickness of its thickest vertex.
    pub fn thickest(&self, hf: &Heightfield) -> f32 {
        use rayon::prelude::*;
        self.triangles
            .par_iter()
            .map(|t| t.iter().map(|&g| hf.thickness[g as usize]).fold(0.0, f32::max))
            .reduce(|| 0.0, f32::max)
    }

    /// The surface of `hf` within `max_error_mm` of every grid point; `None` when the bound
    /// is finer than the heights' steps (the full grid is then the answer).
    pub(crate) fn within(
        backend: &Backend,
        hf: &Heightfield,
        max_error_mm: f64,
    ) -> Result<Option<Self>> {
        let start = std::time::Instant::now();
        let grid = Grid::new(hf);
        let gridded = start.elapsed().as_secs_f64();
        let Some(bound) = grid.steps.bound(max_error_mm) else { return Ok(None) };
        let errors = backend.rtin_errors(&grid.levels(bound, true), &grid.points)?;
        let pyramid = start.elapsed().as_secs_f64();
        let triangles = extract::triangles(&grid, &errors, &hf.cells, bound);
        let (extracted, extraction) = (triangles.len(), start.elapsed().as_secs_f64());
        drop(errors);
        let heights = grid.height_steps();
        let triangles = collapse::simplify(triangles, &grid, &heights, i64::from(bound));
        tracing::debug!(
            gridded,
            pyramid,
            extraction,
            extracted,
            seconds = start.elapsed().as_secs_f64(),
            triangles = triangles.len(),
            "adaptive surface"
        );
        Ok(Some(Self { triangles }))
    }

    /// The surface of `hf` with the smallest bound whose whole mesh, walls and floor
    /// included, has at most `max_triangles` triangles.
    pub(crate) fn fitting(backend: &Backend, hf: &Heightfield, max_triangles: u64) -> Result<Self> {
        let grid = Grid::new(hf);
        let mut rim = 0u64;
        super::rim(hf, &mut |_| rim += 1);
        let errors = backend.rtin_errors(&grid.levels(ERROR_FORCED - 1, false), &grid.points)?;
        let heights = grid.height_steps();
        let extract = |bound: u32| extract::triangles(&grid, &errors, &hf.cells, bound);
        let simplify =
            |bound: u32| collapse::simplify(extract(bound), &grid, &heights, bound.into());
        // Every height lies within the coarsest bound of any plane through the grid.
        let coarsest = grid.points.iter().map(|&p| p & 0xffff).max().unwrap_or(0) + 1;
        let fewest = simplify(coarsest);
        let least = rim + fewest.len() as u64;
        if least > max_triangles {
            return Err(ParamError::new(
                "max_triangles",
                format!(
                    "{max_triangles} triangles cannot hold this panel: its walls and floor \
                     alone take {rim}, and its coarsest top surface {} more; allow at least \
                     {least}",
                    fewest.len()
                ),
            )
            .into());
        }
        // The smallest bound whose unsimplified mesh fits: simplifying only removes.
        let (mut lo, mut hi) = (0u32, coarsest);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if rim + extract(mid).len() as u64 <= max_triangles {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        // Then below it, with simplification, keeping the finest bound found to fit.
        let (mut best, mut fits) = (hi, None);
        let mut lo = 0u32;
        for _ in 0..FITTING_TRIES {
            if lo >= best {
                break;
            }
            let mid = lo + (best - lo) / 2;
            let triangles = simplify(mid);
            if rim + triangles.len() as u64 <= max_triangles {
                (best, fits) = (mid, Some(triangles));
            } else {
                lo = mid + 1;
            }
        }
        let triangles =
            fits.unwrap_or_else(|| if best == coarsest { fewest } else { simplify(best) });
        Ok(Self { triangles })
    }
}
