//! CPU twin of `shaders/luminance.wgsl`.

use super::for_each_invocation2;
use crate::kernels::LuminanceConfig;

/// Rec. 709's luma weights, as the kernel's `REC709`.
pub(crate) const REC709: [f32; 3] = [0.2126, 0.7152, 0.0722];

pub fn luminance(config: &LuminanceConfig, pixels: &[f32], luma: &mut [f32], alpha: &mut [f32]) {
    let count = config.count as usize;
    for_each_invocation2(&mut luma[..count], &mut alpha[..count], |index| {
        main(config, pixels, index)
    });
}

fn main(config: &LuminanceConfig, pixels: &[f32], index: usize) -> (f32, f32) {
    let base = index * config.channels as usize;
    let mut l = pixels[base];
    let mut a = 1.0;
    if config.channels == 2 {
        a = pixels[base + 1];
    } else if config.channels >= 3 {
        l = REC709[0] * pixels[base] + REC709[1] * pixels[base + 1] + REC709[2] * pixels[base + 2];
        if config.channels == 4 {
            a = pixels[base + 3];
        }
    }
    (l, a)
}
