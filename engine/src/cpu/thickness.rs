//! CPU twin of `shaders/thickness.wgsl`.

use super::for_each_invocation2;
use crate::kernels::{
    MASK_ALPHA, MASK_NONE, MODEL_TRANSMITTANCE, OUTLINE_ELLIPSE, OUTLINE_RECT, ThicknessConfig,
};

pub fn thickness(
    config: &ThicknessConfig,
    luma: &[f32],
    alpha: &[f32],
    thickness: &mut [f32],
    inside: &mut [u32],
) {
    let count = config.count as usize;
    for_each_invocation2(&mut thickness[..count], &mut inside[..count], |index| {
        main(config, luma, alpha, index as u32)
    });
}

const LOG2_10: f32 = std::f32::consts::LOG2_10;

fn main(config: &ThicknessConfig, luma: &[f32], alpha: &[f32], index: u32) -> (f32, u32) {
    let i = index % config.width;
    let j = config.row0 + index / config.width;

    let mut value = 0.0;
    if config.level_hi > config.level_lo {
        value = ((luma[index as usize] - config.level_lo) / (config.level_hi - config.level_lo))
            .clamp(0.0, 1.0);
    }
    if config.invert != 0 {
        value = 1.0 - value;
    }
    if config.gamma != 1.0 && value > 0.0 {
        value = value.powf(config.gamma);
    }

    let mut solid = 1;
    if config.mask == MASK_ALPHA {
        solid = u32::from(alpha[index as usize] >= config.threshold);
    } else if config.mask != MASK_NONE {
        solid = u32::from(value >= config.threshold);
    }
    let mut t = config.base_mm + value * config.span_mm;
    if config.model == MODEL_TRANSMITTANCE {
        // Beer-Lambert: t mm pass 10^(-t / td) of the light. The value sets the light between
        // what the thickest (black, `base`) and thinnest (white, `base + span`) parts pass.
        let thin = config.base_mm + config.span_mm;
        let dark = (-config.base_mm / config.td_mm * LOG2_10).exp2();
        let bright = (-thin / config.td_mm * LOG2_10).exp2();
        let light = dark + value * (bright - dark);
        t = -config.td_mm * light.log2() / LOG2_10;
    }

    // Millimetres from the top-left corner, and the signed distance to the outline.
    let x = i as f32 * config.pitch_mm;
    let y = j as f32 * config.pitch_mm;
    let centre = [
        (config.width - 1) as f32 * (0.5 * config.pitch_mm),
        (config.height - 1) as f32 * (0.5 * config.pitch_mm),
    ];
    let inward = if config.outline == OUTLINE_RECT {
        let edge = i.min(config.width - 1 - i).min(j.min(config.height - 1 - j));
        edge as f32 * config.pitch_mm
    } else if config.outline == OUTLINE_ELLIPSE {
        ellipse_inward([x - centre[0], y - centre[1]], config.outline_a, config.outline_b)
    } else {
        let s = config.outline_a;
        -s * heart_distance([(x - centre[0]) / s, (config.outline_b - y) / s])
    };
    if inward < config.frame_mm {
        t = config.frame_thickness_mm;
        solid = 1;
    }
    if inward < 0.0 {
        solid = 0;
    }
    if config.hanger_r_mm > 0.0 {
        let from_hole = length([x - centre[0], y - config.hanger_y_mm]);
        if from_hole < config.collar_r_mm {
            t = config.collar_thickness_mm;
            solid = u32::from(from_hole >= config.hanger_r_mm);
        }
    }
    (t, solid)
}

fn length(v: [f32; 2]) -> f32 {
    (v[0] * v[0] + v[1] * v[1]).sqrt()
}

/// Distance inside the ellipse with semi-axes `a` and `b` around the origin (negative outside):
/// exact for a circle, the first-order estimate f / |grad f| otherwise.
fn ellipse_inward(q: [f32; 2], a: f32, b: f32) -> f32 {
    if a == b {
        return a - length(q);
    }
    let f = (q[0] / a) * (q[0] / a) + (q[1] / b) * (q[1] / b) - 1.0;
    let g = 2.0 * length([q[0] / (a * a), q[1] / (b * b)]);
    if g < 1e-20 {
        return a.min(b);
    }
    -f / g
}

/// The exact signed distance to a heart of unit size with its point at the origin, lobes up
/// (Inigo Quilez, "2D distance functions"): negative inside.
pub(crate) fn heart_distance(q: [f32; 2]) -> f32 {
    let p = [q[0].abs(), q[1]];
    if p[0] + p[1] > 1.0 {
        return length([p[0] - 0.25, p[1] - 0.75]) - std::f32::consts::SQRT_2 / 4.0;
    }
    let to_top = [p[0], p[1] - 1.0];
    let along = 0.5 * (p[0] + p[1]).max(0.0);
    let to_side = [p[0] - along, p[1] - along];
    let side = if p[0] > p[1] {
        1.0
    } else if p[0] < p[1] {
        -1.0
    } else {
        0.0
    };
    (to_top[0] * to_top[0] + to_top[1] * to_top[1])
        .min(to_side[0] * to_side[0] + to_side[1] * to_side[1])
        .sqrt()
        * side
}
