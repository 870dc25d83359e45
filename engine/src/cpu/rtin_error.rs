//! CPU twin of `shaders/rtin_error.wgsl`.

use super::for_each_invocation;
use crate::kernels::{ERROR_FORCED, POINT_INTERIOR, POINT_OUTSIDE, RtinConfig};

/// One level of the pyramid: every midpoint of the level gets its error, from `points` and
/// the finer levels already in `errors`.
pub fn rtin_error(config: &RtinConfig, points: &[u32], errors: &mut [u32]) {
    let mut values = vec![[0u32; 2]; config.count as usize];
    let finer: &[u32] = errors;
    for_each_invocation(&mut values, |index, value| {
        *value = main(config, points, finer, index as u32);
    });
    for [midpoint, error] in values {
        errors[midpoint as usize] = error;
    }
}

/// What a scan of one triangle found: its largest scaled difference from the plane, whether a
/// point other than its corners is not interior, and whether all of them are outside.
struct Scan {
    worst: u32,
    not_interior: bool,
    all_outside: bool,
}

impl Scan {
    fn new() -> Self {
        Scan { worst: 0, not_interior: false, all_outside: true }
    }

    fn add(&mut self, difference: i32, class: u32, corner: bool) {
        self.worst = self.worst.max(difference.unsigned_abs());
        if !corner {
            self.not_interior = self.not_interior || class != POINT_INTERIOR;
            self.all_outside = self.all_outside && class == POINT_OUTSIDE;
        }
    }

    /// The triangle's error in quanta (its scaled difference over `scale`, rounded up): 0
    /// for an empty triangle, forced for one that is neither solid nor empty.
    fn error(&self, scale: u32) -> u32 {
        if !self.not_interior {
            self.worst.div_ceil(scale)
        } else if self.all_outside {
            0
        } else {
            ERROR_FORCED
        }
    }
}

/// A triangle's error without scanning it, from its children (their midpoints, none for the
/// finest triangles), which it takes to be within the cap and so not forced, and its own midpoint `middle` on
/// the hypotenuse from height `qa` to `qb`. Forced and empty are exactly what a scan finds:
/// its points other than corners are its children's and the midpoint. Otherwise the result is
/// at most the children's largest error plus the midpoint's distance from the hypotenuse,
/// rounded up: the triangle's plane and a child's differ by a linear function that is zero at
/// their shared corners and that distance at the midpoint.
fn estimate(
    points: &[u32],
    errors: &[u32],
    middle: u32,
    qa: i32,
    qb: i32,
    children: &[usize],
) -> u32 {
    let mut not_interior = middle >> 16 != POINT_INTERIOR;
    let mut all_outside = middle >> 16 == POINT_OUTSIDE;
    let mut worst = 0u32;
    for &c in children {
        // A child that is not forced is either all interior or all outside, as its midpoint.
        let class = points[c] >> 16;
        not_interior = not_interior || class != POINT_INTERIOR;
        all_outside = all_outside && class == POINT_OUTSIDE;
        worst = worst.max(errors[c]);
    }
    if !not_interior {
        // Saturating: with a child beyond the cap the caller returns that child's error.
        worst.saturating_add((2 * height(middle) - qa - qb).unsigned_abs().div_ceil(2))
    } else if all_outside {
        0
    } else {
        ERROR_FORCED
    }
}

fn height(word: u32) -> i32 {
    (word & 0xffff) as i32
}

/// Invocation `index`: its midpoint's index and error.
fn main(config: &RtinConfig, points: &[u32], errors: &[u32], index: u32) -> [u32; 2] {
    if config.odd == 0 {
        centre(config, points, errors, index)
    } else {
        side(config, points, errors, index)
    }
}

/// The centre of square `index`, splitting its two halves.
fn centre(config: &RtinConfig, points: &[u32], errors: &[u32], index: u32) -> [u32; 2] {
    let s = config.square;
    let h = s / 2;
    let g = config.squares;
    let size = config.size;
    let x0 = (index % g) * s;
    let y0 = (index / g) * s;
    let at = |x: u32, y: u32| (y * size + x) as usize;
    let m = (y0 + h) * size + x0 + h;
    // The children: the midpoints of the four sides.
    let (top, bottom) = (at(x0 + h, y0), at(x0 + h, y0 + s));
    let (left, right) = (at(x0, y0 + h), at(x0 + s, y0 + h));
    let worst = errors[top].max(errors[bottom]).max(errors[left]).max(errors[right]);
    if worst > config.cap {
        return [m, worst];
    }
    let q00 = height(points[at(x0, y0)]);
    let q10 = height(points[at(x0 + s, y0)]);
    let q01 = height(points[at(x0, y0 + s)]);
    let q11 = height(points[at(x0 + s, y0 + s)]);
    // "\" from (0, 0) to (s, s) on even squares, "/" from (s, 0) to (0, s) on odd ones.
    let back = ((index % g) + (index / g)).is_multiple_of(2);
    if config.estimate != 0 {
        // Each half's children: the sides it has.
        let (qa, qb, halves) = if back {
            (q00, q11, [[left, bottom], [top, right]])
        } else {
            (q10, q01, [[top, left], [right, bottom]])
        };
        let middle = points[m as usize];
        let bound = halves.map(|c| estimate(points, errors, middle, qa, qb, &c));
        let bound = worst.max(bound[0]).max(bound[1]);
        if bound <= config.cap || bound == ERROR_FORCED {
            return [m, bound];
        }
    }
    let si = s as i32;
    let mut first = Scan::new();
    let mut second = Scan::new();
    for v in 0..=s {
        for u in 0..=s {
            let word = points[at(x0 + u, y0 + v)];
            let q = height(word);
            let class = word >> 16;
            let corner = (u == 0 || u == s) && (v == 0 || v == s);
            let (ui, vi) = (u as i32, v as i32);
            if back {
                if u <= v {
                    let plane = (vi - ui) * q01 + ui * q11 + (si - vi) * q00;
                    first.add(si * q - plane, class, corner);
                }
                if u >= v {
                    let plane = (ui - vi) * q10 + (si - ui) * q00 + vi * q11;
                    second.add(si * q - plane, class, corner);
                }
            } else {
                if u + v <= s {
                    let plane = (si - ui - vi) * q00 + ui * q10 + vi * q01;
                    first.add(si * q - plane, class, corner);
                }
                if u + v >= s {
                    let plane = (ui + vi - si) * q11 + (si - ui) * q01 + (si - vi) * q10;
                    second.add(si * q - plane, class, corner);
                }
            }
        }
    }
    [m, worst.max(first.error(s)).max(second.error(s))]
}

/// The midpoint of side `index` (the horizontal sides first), splitting the triangles from
/// that side to the centres of the squares on either side of it.
fn side(config: &RtinConfig, points: &[u32], errors: &[u32], index: u32) -> [u32; 2] {
    let s = config.square;
    let h = s / 2;
    let g = config.squares;
    let size = config.size;
    let horizontal = index < g * (g + 1);
    // The midpoint, the direction along the side, and whether the squares before and after
    // it (above and below, or left and right) exist.
    let (mx, my, along, before, after) = if horizontal {
        let (i, j) = (index % g, index / g);
        (i * s + h, j * s, [1i32, 0i32], j > 0, j < g)
    } else {
        let k = index - g * (g + 1);
        let (i, j) = (k % (g + 1), k / (g + 1));
        (i * s, j * s + h, [0i32, 1i32], i > 0, i < g)
    };
    let m = my * size + mx;
    let at = |x: i32, y: i32| (y as u32 * size + x as u32) as usize;
    let (mxi, myi, hi) = (mx as i32, my as i32, h as i32);
    let qa = height(points[at(mxi - along[0] * hi, myi - along[1] * hi)]);
    let qb = height(points[at(mxi + along[0] * hi, myi + along[1] * hi)]);
    // Each triangle's children, the centres of the half squares toward its apex (none for the
    // finest): their errors are its least, and under `estimate` they bound its own.
    let middle = points[m as usize];
    let (mut worst, mut bound) = (0u32, 0u32);
    for (apex, exists) in [(-1i32, before), (1i32, after)] {
        if !exists {
            continue;
        }
        // Toward the apex: across the side.
        let (dx, dy) = (apex * along[1], apex * along[0]);
        let children = [-1i32, 1i32].map(|w| {
            at(mxi + dx * hi / 2 + w * along[0] * hi / 2, myi + dy * hi / 2 + w * along[1] * hi / 2)
        });
        let children = if h < 2 { &children[..0] } else { &children[..] };
        worst = children.iter().fold(worst, |e, &c| e.max(errors[c]));
        if config.estimate != 0 {
            bound = bound.max(estimate(points, errors, middle, qa, qb, children));
        }
    }
    if worst > config.cap {
        return [m, worst];
    }
    let bound = worst.max(bound);
    if config.estimate != 0 && (bound <= config.cap || bound == ERROR_FORCED) {
        return [m, bound];
    }
    let mut error = worst;
    for (apex, exists) in [(-1i32, before), (1i32, after)] {
        if !exists {
            continue;
        }
        let dx = apex * along[1];
        let dy = apex * along[0];
        let qc = height(points[at(mxi + dx * hi, myi + dy * hi)]);
        let mut scan = Scan::new();
        for t in 0..=hi {
            for w in (t - hi)..=(hi - t) {
                let word = points[at(mxi + dx * t + along[0] * w, myi + dy * t + along[1] * w)];
                let plane = 2 * t * qc + (hi - t - w) * qa + (hi - t + w) * qb;
                let corner = t == hi || (t == 0 && (w == hi || w == -hi));
                scan.add(2 * hi * height(word) - plane, word >> 16, corner);
            }
        }
        error = error.max(scan.error(s));
    }
    [m, error]
}
