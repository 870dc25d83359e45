//! CPU twin of `shaders/volume_blur.wgsl`.

use super::for_each_invocation;
use crate::kernels::VolumeBlurConfig;

pub fn volume_blur(config: &VolumeBlurConfig, weights: &[f32], src: &[f32], dst: &mut [f32]) {
    for_each_invocation(&mut dst[..config.count as usize], |index, out| {
        *out = main(config, weights, src, index as u32);
    });
}

fn main(config: &VolumeBlurConfig, weights: &[f32], src: &[f32], index: u32) -> f32 {
    let plane = config.nx * config.ny;
    let p = [
        (index % config.nx) as i32,
        ((index / config.nx) % config.ny) as i32,
        (index / plane) as i32,
    ];
    let size = [config.nx as i32, config.ny as i32, config.nz as i32];
    let r = config.radius as i32;
    let axis = config.axis as usize;
    let mut sum = 0.0;
    for d in -r..=r {
        let mut q = p;
        q[axis] = (p[axis] + d).clamp(0, size[axis] - 1);
        sum += weights[(d + r) as usize]
            * src[(q[2] as u32 * plane + q[1] as u32 * config.nx + q[0] as u32) as usize];
    }
    sum
}
