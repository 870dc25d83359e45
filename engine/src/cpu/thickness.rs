//! CPU twin of `shaders/thickness.wgsl`.

use super::for_each_invocation2;
use crate::kernels::{MASK_ALPHA, MASK_NONE, MODEL_TRANSMITTANCE, ThicknessConfig};

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

    let edge = i.min(config.width - 1 - i).min(j.min(config.height - 1 - j));
    if edge as f32 * config.pitch_mm < config.frame_mm {
        t = config.frame_thickness_mm;
        solid = 1;
    }
    (t, solid)
}
