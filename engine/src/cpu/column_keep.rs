//! CPU twin of `shaders/column_keep.wgsl`.

use rayon::prelude::*;

use crate::kernels::ColumnConfig;

/// Every column's kept points into `keep` (column-major, `height` a column).
pub fn column_keep(config: &ColumnConfig, heights: &[u32], keep: &mut [u32]) {
    keep.par_chunks_mut(config.height as usize)
        .take(config.width as usize)
        .enumerate()
        .for_each(|(x, column)| main(config, heights, x as u32, column));
}

/// Invocation `x`: its column of `keep`.
fn main(config: &ColumnConfig, heights: &[u32], x: u32, keep: &mut [u32]) {
    let h = config.height;
    let height_at = |y: u32| heights[(y * config.width + x) as usize] as i32;
    let every = config.walled != 0 && (x == 0 || x == config.width - 1);
    for y in 0..h {
        keep[y as usize] = u32::from(every || y == 0);
    }
    let bound = config.bound as i32;
    let mut a = 0u32;
    loop {
        if a + 1 >= h {
            break;
        }
        let ta = height_at(a);
        // The windows' tightest ends, lo_n / lo_d and hi_n / hi_d, none yet.
        let mut open = true;
        let (mut lo_n, mut lo_d, mut hi_n, mut hi_d) = (0i32, 1i32, 0i32, 1i32);
        let mut b = a + 1;
        loop {
            if b + 1 >= h || every || b == config.forced {
                break;
            }
            let run = (b - a) as i32;
            let low = height_at(b) - bound - ta;
            let high = height_at(b) + bound - ta;
            if open || low * lo_d > lo_n * run {
                (lo_n, lo_d) = (low, run);
            }
            if open || high * hi_d < hi_n * run {
                (hi_n, hi_d) = (high, run);
            }
            open = false;
            let rise = height_at(b + 1) - ta;
            let next = (b + 1 - a) as i32;
            if rise * lo_d < lo_n * next || rise * hi_d > hi_n * next {
                break;
            }
            b += 1;
        }
        keep[b as usize] = 1;
        a = b;
    }
}
