//! CPU twin of `shaders/resample.wgsl`.

use super::for_each_invocation;
use crate::kernels::ResampleConfig;

pub fn resample(config: &ResampleConfig, src: &[f32], dst: &mut [f32]) {
    for_each_invocation(&mut dst[..config.count as usize], |index, out| {
        *out = main(config, src, index as u32);
    });
}

/// First and last source index (inclusive) that contribute to position `x`.
pub(crate) fn axis_span(x: f32, scale: f32, n: u32) -> (i32, i32) {
    let (lo, hi);
    if scale > 1.0 {
        lo = (x - 0.5 * scale + 0.5).floor() as i32;
        hi = (x + 0.5 * scale + 0.5).floor() as i32;
    } else {
        lo = x.floor() as i32;
        hi = lo + 1;
    }
    (lo.max(0), hi.min(n as i32 - 1))
}

/// Weight of source index `k` for position `x`: box overlap, or tent.
pub(crate) fn axis_weight(k: i32, x: f32, scale: f32) -> f32 {
    let c = k as f32;
    if scale > 1.0 {
        let lo = (x - 0.5 * scale).max(c - 0.5);
        let hi = (x + 0.5 * scale).min(c + 0.5);
        return (hi - lo).max(0.0);
    }
    (1.0 - (x - c).abs()).max(0.0)
}

fn main(config: &ResampleConfig, src: &[f32], index: u32) -> f32 {
    let i = index % config.dst_width;
    let j = config.dst_row0 + index / config.dst_width;
    let x = i as f32 * config.scale_x;
    let y = j as f32 * config.scale_y;
    let xs = axis_span(x, config.scale_x, config.src_width);
    let ys = axis_span(y, config.scale_y, config.src_height);
    let mut sum = 0.0;
    let mut norm = 0.0;
    for ky in ys.0..=ys.1 {
        let wy = axis_weight(ky, y, config.scale_y);
        let row = ky as u32 - config.src_row0;
        for kx in xs.0..=xs.1 {
            let w = wy * axis_weight(kx, x, config.scale_x);
            sum += w * src[(row * config.src_width + kx as u32) as usize];
            norm += w;
        }
    }
    sum / norm
}
