//! CPU twin of `shaders/blur.wgsl`.

use super::for_each_invocation;
use crate::kernels::BlurConfig;

pub fn blur(config: &BlurConfig, weights: &[f32], src: &[f32], dst: &mut [f32]) {
    for_each_invocation(&mut dst[..config.count as usize], |index, out| {
        *out = main(config, weights, src, index as u32);
    });
}

fn main(config: &BlurConfig, weights: &[f32], src: &[f32], index: u32) -> f32 {
    let i = (index % config.width) as i32;
    let j = (config.dst_row0 + index / config.width) as i32;
    let r = config.radius as i32;
    let mut sum = 0.0;
    for d in -r..=r {
        let mut x = i;
        let mut y = j;
        if config.axis == 0 {
            x = (i + d).clamp(0, config.width as i32 - 1);
        } else {
            y = (j + d).clamp(0, config.height as i32 - 1);
        }
        let row = y as u32 - config.src_row0;
        sum += weights[(d + r) as usize] * src[(row * config.width + x as u32) as usize];
    }
    sum
}
