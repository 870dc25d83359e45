//! A mesh job's parameters: how to read the file, whether to repair it, and where to put it.

use serde::Serialize;

use super::{Model, Units};
use crate::isosurface::IndexedMesh;
use crate::params::ParamError;

/// The largest weld tolerance: beyond a centimetre, welding changes the model's shape.
pub const MAX_WELD_MM: f64 = 10.0;

/// How a 3D file becomes an output.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeshParams {
    /// The unit of a file that does not name its own.
    pub units: Units,
    /// How to repair it; `None` writes it as read (its check then decides whether it ships).
    pub repair: Option<RepairParams>,
    /// A uniform factor, applied first.
    pub scale: f64,
    /// Scale uniformly to fit inside this box (width, depth, height in millimetres).
    pub fit_mm: Option<[f32; 3]>,
    /// Move the model's centre (across and deep) to the origin.
    pub center: bool,
    /// Put the model on the bed: its lowest point at z = 0.
    pub drop: bool,
    /// Hollow it, once placed: a wall this thick, with drain holes.
    pub hollow: Option<super::HollowParams>,
}

/// [`super::repair::RepairOptions`], as a job carries it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RepairParams {
    pub weld_mm: f32,
    pub min_shell_mm3: f64,
}

impl Default for MeshParams {
    fn default() -> Self {
        Self {
            units: Units::Mm,
            repair: Some(RepairParams {
                weld_mm: crate::job::defaults::WELD_MM as f32,
                min_shell_mm3: crate::job::defaults::MIN_SHELL_MM3,
            }),
            scale: 1.0,
            fit_mm: None,
            center: false,
            drop: false,
            hollow: None,
        }
    }
}

impl MeshParams {
    /// Checks every value, naming the field at fault.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(ParamError::new("scale", format!("must be above 0, got {}", self.scale)));
        }
        if let Some(fit) = self.fit_mm
            && fit.iter().any(|v| !(v.is_finite() && *v > 0.0))
        {
            return Err(ParamError::new(
                "fit_mm",
                format!("each of width, depth and height must be above 0 mm, got {fit:?}"),
            ));
        }
        if let Some(hollow) = self.hollow {
            if !(hollow.wall_mm.is_finite() && hollow.wall_mm > 0.0) {
                return Err(ParamError::new(
                    "hollow_mm",
                    format!("must be above 0 mm, got {}", hollow.wall_mm),
                ));
            }
            if !(hollow.drain_mm.is_finite() && hollow.drain_mm > 0.0) {
                return Err(ParamError::new(
                    "drain_mm",
                    format!("must be above 0 mm, got {}", hollow.drain_mm),
                ));
            }
        }
        if let Some(repair) = self.repair {
            if !(0.0..=MAX_WELD_MM as f32).contains(&repair.weld_mm) {
                return Err(ParamError::new(
                    "weld_mm",
                    format!("must be 0 to {MAX_WELD_MM} mm, got {}", repair.weld_mm),
                ));
            }
            if !(repair.min_shell_mm3.is_finite() && repair.min_shell_mm3 >= 0.0) {
                return Err(ParamError::new(
                    "min_shell_mm3",
                    format!("must be 0 or more, got {}", repair.min_shell_mm3),
                ));
            }
        }
        Ok(())
    }

    /// Scales and moves `model` as asked: `scale`, then `fit_mm`, then `center`, then `drop`.
    pub fn place(&self, model: &mut Model) {
        let bounds = |model: &Model| {
            model.positions.iter().fold(
                ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
                |(lo, hi), p| {
                    (
                        std::array::from_fn(|k| lo[k].min(p[k])),
                        std::array::from_fn(|k| hi[k].max(p[k])),
                    )
                },
            )
        };
        let mut factor = self.scale;
        if let Some(fit) = self.fit_mm {
            let (lo, hi) = bounds(model);
            let extent = [0, 1, 2].map(|k| f64::from(hi[k] - lo[k]) * self.scale);
            let room = (0..3)
                .filter(|&k| extent[k] > 0.0)
                .map(|k| f64::from(fit[k]) / extent[k])
                .fold(f64::INFINITY, f64::min);
            if room.is_finite() {
                factor *= room;
            }
        }
        if factor != 1.0 {
            let factor = factor as f32;
            model.positions.iter_mut().for_each(|p| *p = p.map(|v| v * factor));
        }
        if self.center || self.drop {
            let (lo, hi) = bounds(model);
            let shift = [
                if self.center { -(lo[0] + hi[0]) / 2.0 } else { 0.0 },
                if self.center { -(lo[1] + hi[1]) / 2.0 } else { 0.0 },
                if self.drop { -lo[2] } else { 0.0 },
            ];
            model.positions.iter_mut().for_each(|p| *p = [0, 1, 2].map(|k| p[k] + shift[k]));
        }
    }
}

/// `model` with area-weighted vertex normals, for the writers.
pub fn indexed(model: Model) -> IndexedMesh {
    let mut normals = vec![[0.0f32; 3]; model.positions.len()];
    for t in &model.triangles {
        let [a, b, c] = t.map(|v| model.positions[v as usize]);
        let (u, v) = ([0, 1, 2].map(|k| b[k] - a[k]), [0, 1, 2].map(|k| c[k] - a[k]));
        let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        for &corner in t {
            let sum = &mut normals[corner as usize];
            *sum = [0, 1, 2].map(|k| sum[k] + n[k]);
        }
    }
    for n in &mut normals {
        let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        *n = if length > 0.0 { n.map(|c| c / length) } else { [0.0, 0.0, 1.0] };
    }
    IndexedMesh { positions: model.positions, normals, triangles: model.triangles }
}
