//! Domes: the image's inscribed circle on a spherical cap that stands on a flat rim.
//!
//! The square grid is laid on the disc by Shirley and Chiu's concentric mapping (concentric
//! squares to concentric circles; area-preserving, so no cell degenerates), and the thickness
//! map is sampled from the image's inscribed circle at each point, so the picture is cropped
//! round but not distorted. A point of the disc at radius `rho <= 1` and azimuth `psi` goes to
//! polar angle `rho * alpha` on a sphere (`alpha` half the dome's angle): the image's circle
//! spans the dome rim to rim through the pole, and is its arc length at the thickest point.
//! Thickness is radial, from a smooth inside of radius `inner`.
//!
//! Grid points beyond the image's circle (a band of [`Dome::rim_rows`], thickest there) make the
//! rim, in the section through the axis: the inside drops from the dome's edge to the bed,
//! then runs out along it; the outside runs from the dome's edge down to the rim's top,
//! [`RIM_MM`] beyond the dome, as high as the dome is thick. The grid's border is the rim's
//! outer wall. Seen from above, the image reads as in the picture; the axis is the z axis.

use std::f32::consts::{FRAC_PI_2, FRAC_PI_4};

use super::Heightfield;
use crate::params::ParamError;

/// How far the rim reaches beyond the dome's outside.
pub const RIM_MM: f32 = 5.0;

/// A dome's geometry, in millimetres of the grid and of the model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dome {
    /// Half the dome's angle, in radians: the rim's polar angle.
    pub half_angle: f32,
    /// The radius of the smooth inside; the image side's thickest point is `thickest` out.
    pub inner: f32,
    pub thickest: f32,
    /// The grid's centre and the image circle's radius, along the grid.
    centre: f32,
    circle: f32,
    /// The rim band's width along the grid.
    band: f32,
    /// The first ring of the band, as a fraction of it: the inside's drop to the bed.
    drop: f32,
    /// Height of the sphere's centre.
    centre_z: f32,
}

impl Dome {
    /// Rows of the rim band on each side, for grid points `pitch_mm` apart.
    pub fn rim_rows(pitch_mm: f32) -> u32 {
        ((RIM_MM / pitch_mm).round() as u32).max(2)
    }

    /// Lays `hf`, the image's thickness map, on the disc: a square grid as many points
    /// across as the image's inscribed circle (an odd number), with the rim band around it.
    pub fn remap(hf: &mut Heightfield) {
        let side = hf.width.min(hf.height);
        let n = if side % 2 == 1 { side } else { side - 1 };
        let rows = Self::rim_rows(hf.pitch_mm);
        let m = n + 2 * rows;
        let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
        let (cx, cy) = ((hf.width - 1) as f32 / 2.0, (hf.height - 1) as f32 / 2.0);
        let half = (n - 1) as f32 / 2.0;
        let centre = (m - 1) as f32 / 2.0;
        let mut thickness = Vec::with_capacity(m as usize * m as usize);
        for y in 0..m {
            for x in 0..m {
                let (a, b) = ((x as f32 - centre) / half, (y as f32 - centre) / half);
                if a.abs().max(b.abs()) > 1.0 {
                    thickness.push(thickest);
                    continue;
                }
                let (rho, cos, sin) = concentric(a, b);
                thickness.push(bilinear(hf, cx + rho * cos * half, cy + rho * sin * half));
            }
        }
        hf.thickness = thickness;
        (hf.width, hf.height) = (m, m);
        hf.cells = super::Cells::Full { width: m - 1, height: m - 1 };
    }

    /// The dome `degrees` across on the remapped `hf`, or why it cannot be made.
    pub fn of(hf: &Heightfield, degrees: f32) -> Result<Self, ParamError> {
        let p = hf.pitch_mm;
        let rows = Self::rim_rows(p);
        let n = hf.width - 2 * rows;
        let circle = (n - 1) as f32 * p / 2.0;
        let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
        let half_angle = degrees.to_radians() / 2.0;
        // The image's circle is the arc rim to rim through the pole, at the thickest point.
        let outer = 2.0 * circle / degrees.to_radians();
        let inner = outer - thickest;
        if inner < thickest.max(1.0) {
            return Err(ParamError::new(
                "dome_deg",
                format!(
                    "a dome of {degrees} degrees {:.1} mm across has a radius of {outer:.1} mm, \
                     too tight for {thickest:.1} mm of thickness: its inside's radius would be \
                     {inner:.1} mm, and must be at least {:.1} mm; use a smaller `dome_deg` or a \
                     larger `width_mm`",
                    2.0 * circle,
                    thickest.max(1.0)
                ),
            ));
        }
        let band = rows as f32 * p;
        Ok(Dome {
            half_angle,
            inner,
            thickest,
            centre: (hf.width - 1) as f32 * p / 2.0,
            circle,
            band,
            drop: p / band,
            centre_z: thickest - inner * half_angle.cos(),
        })
    }

    /// The rim's outer radius: where the model meets the bed farthest from the axis.
    pub fn rim_radius(&self) -> f32 {
        (self.inner + self.thickest) * self.half_angle.sin() + RIM_MM
    }

    /// Height of the sphere's centre above the bed.
    pub fn centre_z(&self) -> f32 {
        self.centre_z
    }

    /// Where grid point `(x, y)` of `hf` goes on the image side (`true`) or the inside, and
    /// its normal there.
    pub fn place(
        &self,
        hf: &Heightfield,
        x: u32,
        y: u32,
        image_side: bool,
    ) -> ([f32; 3], [f32; 3]) {
        let p = hf.pitch_mm;
        let (u, v) = (x as f32 * p - self.centre, y as f32 * p - self.centre);
        let (rho, cos, sin) = concentric(u / self.circle, v / self.circle);
        // Azimuth: the grid's rows run down the image, so down is -y seen from above.
        let (cos, sin) = (cos, -sin);
        let around = |s: f32, z: f32| [s * cos, s * sin, z];
        let beyond = u.abs().max(v.abs()) - self.circle;
        if beyond <= 0.0 {
            let theta = rho * self.half_angle;
            let r = self.inner + if image_side { hf.thickness_at(x, y) } else { 0.0 };
            let radial = [theta.sin() * cos, theta.sin() * sin, theta.cos()];
            let normal = if image_side { radial } else { radial.map(|c| -c) };
            return (around(r * theta.sin(), self.centre_z + r * theta.cos()), normal);
        }
        let f = (beyond / self.band).min(1.0);
        let (sin_a, cos_a) = self.half_angle.sin_cos();
        let rim = self.rim_radius();
        if image_side {
            // From the dome's outer edge straight to the rim's top outer edge.
            let outer = self.inner + self.thickest;
            let (s0, z0) = (outer * sin_a, self.centre_z + outer * cos_a);
            let (ds, dz) = (rim - s0, self.thickest - z0);
            let length = (ds * ds + dz * dz).sqrt();
            let normal = [-dz / length * cos, -dz / length * sin, ds / length];
            return (around(s0 + f * ds, z0 + f * dz), normal);
        }
        let s_in = self.inner * sin_a;
        if f <= self.drop {
            // Down the inside to the bed.
            let z = self.thickest * (1.0 - f / self.drop);
            return (around(s_in, z), [-cos, -sin, 0.0]);
        }
        let s = s_in + (rim - s_in) * (f - self.drop) / (1.0 - self.drop);
        (around(s, 0.0), [0.0, 0.0, -1.0])
    }
}

impl Dome {
    /// The thickness over the image's inscribed circle as the picture has it (the remapped
    /// grid pulled back through the concentric mapping), one value a grid step, `NaN` outside
    /// the circle: what the backlit view shows.
    pub fn image_map(&self, hf: &Heightfield) -> Heightfield {
        let p = hf.pitch_mm;
        let n = (2.0 * self.circle / p).round() as u32 + 1;
        let half = (n - 1) as f32 / 2.0;
        let grid_half = self.circle / p;
        let grid_centre = self.centre / p;
        let mut thickness = Vec::with_capacity(n as usize * n as usize);
        for y in 0..n {
            for x in 0..n {
                let (dx, dy) = ((x as f32 - half) / half, (y as f32 - half) / half);
                if dx * dx + dy * dy > 1.0 {
                    thickness.push(f32::NAN);
                    continue;
                }
                let (a, b) = square(dx, dy);
                thickness.push(bilinear(
                    hf,
                    grid_centre + a * grid_half,
                    grid_centre + b * grid_half,
                ));
            }
        }
        Heightfield {
            width: n,
            height: n,
            pitch_mm: p,
            thickness,
            cells: super::Cells::Full { width: n - 1, height: n - 1 },
            bend: None,
            surface: None,
            columns: None,
        }
    }
}

/// The inverse of [`concentric`]: the point of the square that goes to `(x, y)` of the disc.
fn square(x: f32, y: f32) -> (f32, f32) {
    let r = (x * x + y * y).sqrt();
    if r == 0.0 {
        return (0.0, 0.0);
    }
    let mut phi = y.atan2(x);
    if phi < -FRAC_PI_4 {
        phi += 2.0 * std::f32::consts::PI;
    }
    let pi = std::f32::consts::PI;
    if phi < FRAC_PI_4 {
        (r, r * phi / FRAC_PI_4)
    } else if phi < 3.0 * FRAC_PI_4 {
        (-r * (phi - FRAC_PI_2) / FRAC_PI_4, r)
    } else if phi < 5.0 * FRAC_PI_4 {
        (-r, -r * (phi - pi) / FRAC_PI_4)
    } else {
        (r * (phi - 3.0 * FRAC_PI_2) / FRAC_PI_4, -r)
    }
}

/// Shirley and Chiu's concentric mapping of the square `[-1, 1]^2` (and beyond) onto the disc:
/// the radius (the larger of `|a|` and `|b|`) and the direction's cosine and sine.
fn concentric(a: f32, b: f32) -> (f32, f32, f32) {
    if a == 0.0 && b == 0.0 {
        return (0.0, 1.0, 0.0);
    }
    let (r, phi) = if a.abs() > b.abs() {
        (a, FRAC_PI_4 * (b / a))
    } else {
        (b, FRAC_PI_2 - FRAC_PI_4 * (a / b))
    };
    let (sin, cos) = phi.sin_cos();
    // A negative radius points the other way.
    (r.abs(), cos * r.signum(), sin * r.signum())
}

/// `hf`'s thickness at fractional grid point `(x, y)`, interpolated between its four
/// neighbours.
fn bilinear(hf: &Heightfield, x: f32, y: f32) -> f32 {
    let (x, y) = (x.clamp(0.0, (hf.width - 1) as f32), y.clamp(0.0, (hf.height - 1) as f32));
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(hf.width - 1), (y0 + 1).min(hf.height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let t = |x, y| hf.thickness_at(x, y);
    let top = t(x0, y0) * (1.0 - fx) + t(x1, y0) * fx;
    let bottom = t(x0, y1) * (1.0 - fx) + t(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::concentric;

    #[test]
    fn the_square_point_of_a_disc_point_maps_back_to_it() {
        for (a, b) in [(0.9, 0.3), (-0.5, 0.5), (0.2, -0.7), (0.6, 0.6), (-0.3, -0.8), (-0.9, 0.1)]
        {
            let (rho, cos, sin) = concentric(a, b);
            let (x, y) = super::square(rho * cos, rho * sin);
            assert!((x - a).abs() < 1e-5 && (y - b).abs() < 1e-5, "({a}, {b}) -> ({x}, {y})");
        }
    }

    #[test]
    fn concentric_squares_become_circles() {
        for (a, b) in [(1.0, 0.3), (-0.5, 0.5), (0.2, -0.7), (1.0, 1.0), (1.4, -0.2)] {
            let (rho, cos, sin) = concentric(a, b);
            assert!((rho - f32::max(a.abs(), b.abs())).abs() < 1e-6);
            assert!((cos * cos + sin * sin - 1.0).abs() < 1e-6);
            // The same quadrant.
            assert!(cos * a >= -1e-6 && sin * b >= -1e-6, "({a}, {b}): ({cos}, {sin})");
        }
    }
}
