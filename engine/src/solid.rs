//! Solids from images: a 2-D mask becomes a signed distance field, the field an extruded
//! solid with a rounded or chamfered top edge (or a puffed pillow, or an open cutter wall),
//! and marching cubes makes it a closed mesh.
//!
//! The bottom is flat and sharp-edged so the part sits on the print bed; the bevel rounds the
//! top edge only. The field is sampled at voxel centres half a voxel off the bottom and top
//! planes, so those planes fall exactly halfway between samples.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::isosurface::ScalarField;
use crate::params::{Millimetres, ParamError};

/// Empty voxels kept around the shape on every side, so the surface never meets the padding.
pub const MARGIN: usize = 2;

/// How the top edge is cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bevel {
    /// A quarter circle of radius `bevel_mm`.
    #[default]
    Round,
    /// A 45-degree cut `bevel_mm` deep and wide.
    Chamfer,
}

crate::names::named!(Bevel, "bevel" { Round => "round", Chamfer => "chamfer" });

/// The shape of a solid made from an image's mask.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SolidParams {
    /// Height of the extrusion.
    pub depth_mm: Millimetres,
    /// Radius (round) or size (chamfer) of the top edge; 0 for a sharp edge.
    pub bevel_mm: f32,
    pub bevel: Bevel,
    /// A pillow: height rises from the outline like a quarter ellipse to `depth_mm` at the
    /// thickest point. The bevel is not used.
    pub inflate: bool,
    /// A wall this thick inside the outline and nothing else: an open cookie cutter.
    pub shell_mm: Option<Millimetres>,
}

impl Default for SolidParams {
    fn default() -> Self {
        Self {
            depth_mm: Millimetres::new(crate::job::defaults::DEPTH_MM).expect("a valid length"),
            bevel_mm: crate::job::defaults::BEVEL_MM as f32,
            bevel: Bevel::Round,
            inflate: false,
            shell_mm: None,
        }
    }
}

impl SolidParams {
    pub fn validate(&self) -> Result<(), ParamError> {
        let depth = self.depth_mm.get();
        if depth <= 0.0 {
            return Err(ParamError::new("depth_mm", "must be greater than 0 mm"));
        }
        let bevel_ok = self.bevel_mm == 0.0 || self.bevel_mm >= Millimetres::MIN;
        if !(bevel_ok && self.bevel_mm >= 0.0 && self.bevel_mm <= depth) {
            return Err(ParamError::new(
                "bevel_mm",
                format!(
                    "must be 0, or between {} mm and the depth ({depth} mm), got {}",
                    Millimetres::MIN,
                    self.bevel_mm
                ),
            ));
        }
        if let Some(shell) = self.shell_mm
            && shell.get() <= 0.0
        {
            return Err(ParamError::new("shell_mm", "must be greater than 0 mm"));
        }
        Ok(())
    }
}

/// Signed distance in pixels from each pixel centre to the mask's outline, negative inside.
/// Pixels beyond the image are outside.
pub fn signed_distance(inside: &[bool], width: usize, height: usize) -> Vec<f32> {
    let to_outside = squared_distance(inside, width, height, false);
    let to_inside = squared_distance(inside, width, height, true);
    inside
        .par_iter()
        .zip(to_outside.par_iter().zip(&to_inside))
        .map(|(&is_in, (&d_out, &d_in))| {
            // The outline runs between pixel centres, half a pixel from each.
            if is_in { 0.5 - d_out.sqrt() } else { d_in.sqrt() - 0.5 }
        })
        .collect()
}

/// Squared distance from each pixel to the nearest pixel whose `inside` equals `target`
/// (Felzenszwalb and Huttenlocher's exact transform, columns then rows). With `target` false,
/// the image's surroundings count as such pixels.
fn squared_distance(inside: &[bool], width: usize, height: usize, target: bool) -> Vec<f32> {
    const FAR: f32 = 1e20;
    let border = !target;
    let mut grid: Vec<f32> = inside.iter().map(|&i| if i == target { 0.0 } else { FAR }).collect();
    // Columns: gather, transform (with a border sample at each end), scatter.
    let mut columns = vec![0.0; width * height];
    columns.par_chunks_mut(height).enumerate().for_each(|(x, column)| {
        let mut f: Vec<f32> = Vec::with_capacity(height + 2);
        f.push(if border { 0.0 } else { FAR });
        f.extend((0..height).map(|y| grid[y * width + x]));
        f.push(if border { 0.0 } else { FAR });
        let d = transform_1d(&f);
        column.copy_from_slice(&d[1..=height]);
    });
    grid.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let mut f: Vec<f32> = Vec::with_capacity(width + 2);
        f.push(if border { 0.0 } else { FAR });
        f.extend((0..width).map(|x| columns[x * height + y]));
        f.push(if border { 0.0 } else { FAR });
        let d = transform_1d(&f);
        row.copy_from_slice(&d[1..=width]);
    });
    grid
}

/// The lower envelope of parabolas rooted at each sample: `d[q] = min_p (q - p)^2 + f[p]`.
fn transform_1d(f: &[f32]) -> Vec<f32> {
    let n = f.len();
    let mut d = vec![0.0; n];
    let mut v = vec![0usize; n];
    let mut z = vec![0.0f32; n + 1];
    let mut k = 0;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    let meet = |q: usize, p: usize| {
        let (q2, p2) = ((q * q) as f32, (p * p) as f32);
        ((f[q] + q2) - (f[p] + p2)) / (2.0 * q as f32 - 2.0 * p as f32)
    };
    for q in 1..n {
        let mut s = meet(q, v[k]);
        while s <= z[k] {
            k -= 1;
            s = meet(q, v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f32::INFINITY;
    }
    k = 0;
    for (q, d) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let dq = q as f32 - v[k] as f32;
        *d = dq * dq + f[v[k]];
    }
    d
}

/// A plate under the solid (text's plates, keychains and signs): the solid stands on it,
/// `depth_mm` taller than it, and merges with it.
#[derive(Debug)]
pub struct PlateField {
    /// Signed distance to the plate's outline in millimetres, negative inside, per (x, y)
    /// voxel, on the solid's grid.
    pub outline_mm: Vec<f32>,
    /// Its thickness; flat on top, with sharp edges.
    pub height_mm: f32,
}

/// The solid's field: positive inside, sampled at voxel centres `pitch_mm` apart, with
/// [`MARGIN`] empty voxels around the mask and below the bottom and above the top.
#[derive(Debug)]
pub struct SolidField {
    /// Voxels across and down (the mask plus margins) and up.
    dims: [usize; 3],
    pitch_mm: f32,
    /// Signed distance to the outline in millimetres, negative inside, per (x, y) voxel.
    outline_mm: Vec<f32>,
    params: SolidParams,
    plate: Option<PlateField>,
    /// The largest distance from the outline inside the mask, for `inflate`.
    thickest_mm: f32,
}

impl SolidField {
    /// `inside` is the mask, `width` x `height` pixels, each `pitch_mm` wide.
    pub fn new(
        inside: &[bool],
        width: usize,
        height: usize,
        pitch_mm: f32,
        params: SolidParams,
    ) -> Self {
        let (w, h) = (width + 2 * MARGIN, height + 2 * MARGIN);
        let mut padded = vec![false; w * h];
        for y in 0..height {
            padded[(y + MARGIN) * w + MARGIN..][..width]
                .copy_from_slice(&inside[y * width..][..width]);
        }
        let outline_mm: Vec<f32> =
            signed_distance(&padded, w, h).into_iter().map(|d| d * pitch_mm).collect();
        Self::from_outline(outline_mm, [w, h], pitch_mm, params, None)
    }

    /// The field of an outline given as signed distances in millimetres on a `size` grid,
    /// margins included (text's exact outlines), standing on `plate` if there is one.
    pub fn from_outline(
        outline_mm: Vec<f32>,
        size: [usize; 2],
        pitch_mm: f32,
        params: SolidParams,
        plate: Option<PlateField>,
    ) -> Self {
        let thickest_mm = outline_mm.iter().fold(0.0f32, |m, &d| m.max(-d));
        let height = params.depth_mm.get() + plate.as_ref().map_or(0.0, |p| p.height_mm);
        // Saturating: the engine checks the voxel count before it meshes such a field.
        let layers = crate::work::solid_layers(height, pitch_mm);
        let depth = usize::try_from(layers).unwrap_or(usize::MAX).saturating_add(2 * MARGIN);
        Self { dims: [size[0], size[1], depth], pitch_mm, outline_mm, params, plate, thickest_mm }
    }

    /// Height of voxel centre `k` above the bottom plane, in millimetres.
    pub fn z_mm(&self, k: usize) -> f32 {
        (k as f32 - MARGIN as f32 + 0.5) * self.pitch_mm
    }

    pub fn pitch_mm(&self) -> f32 {
        self.pitch_mm
    }

    /// Signed distance to the solid's surface (negative inside) at outline distance `d`, plate
    /// outline distance `plate` (when there is a plate) and height `z`.
    fn distance(&self, d: f32, plate: Option<f32>, z: f32) -> f32 {
        let p = &self.params;
        let plate_mm = self.plate.as_ref().map_or(0.0, |p| p.height_mm);
        let depth = p.depth_mm.get() + plate_mm;
        let body = if p.inflate {
            let w = self.thickest_mm.max(self.pitch_mm);
            let s = 1.0 - (-d / w).clamp(0.0, 1.0);
            let height = depth * (1.0 - s * s).max(0.0).sqrt();
            d.max(z - height)
        } else {
            let r = p.bevel_mm;
            match p.bevel {
                Bevel::Round => {
                    let (a, b) = (d + r, z - depth + r);
                    let outside = (a.max(0.0).powi(2) + b.max(0.0).powi(2)).sqrt();
                    outside + a.max(b).min(0.0) - r
                }
                Bevel::Chamfer => {
                    d.max(z - depth).max((d + z - depth + r) * std::f32::consts::FRAC_1_SQRT_2)
                }
            }
        };
        let walled = match p.shell_mm {
            Some(shell) => body.max(-(d + shell.get())),
            None => body,
        };
        let joined = match plate {
            Some(plate) => walled.min(plate.max(z - plate_mm)),
            None => walled,
        };
        joined.max(-z)
    }
}

impl ScalarField for SolidField {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]) {
        let plane = self.dims[0] * self.dims[1];
        out.par_chunks_mut(plane).zip(z0..z1).for_each(|(values, k)| {
            let z = self.z_mm(k);
            match &self.plate {
                Some(plate) => {
                    let outlines = self.outline_mm.iter().zip(&plate.outline_mm);
                    for (v, (&d, &dp)) in values.iter_mut().zip(outlines) {
                        *v = -self.distance(d, Some(dp), z);
                    }
                }
                None => {
                    for (v, &d) in values.iter_mut().zip(&self.outline_mm) {
                        *v = -self.distance(d, None, z);
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_brute_force() {
        let (w, h) = (23, 17);
        let inside: Vec<bool> = (0..w * h)
            .map(|i| ((i % w) as i32 - 9).pow(2) + ((i / w) as i32 - 7).pow(2) < 30)
            .collect();
        let sdf = signed_distance(&inside, w, h);
        for y in 0..h {
            for x in 0..w {
                let me = inside[y * w + x];
                let mut best = f32::INFINITY;
                for yy in -1..=h as i32 {
                    for xx in -1..=w as i32 {
                        let other = if (0..w as i32).contains(&xx) && (0..h as i32).contains(&yy) {
                            inside[yy as usize * w + xx as usize]
                        } else {
                            false
                        };
                        if other != me {
                            let d = ((xx - x as i32).pow(2) + (yy - y as i32).pow(2)) as f32;
                            best = best.min(d.sqrt());
                        }
                    }
                }
                let expected = if me { 0.5 - best } else { best - 0.5 };
                assert!((sdf[y * w + x] - expected).abs() < 1e-4, "({x}, {y})");
            }
        }
    }
}
