//! Twin of `shaders/scan_add.wgsl`, loop for loop: each block's scanned offset added to its
//! elements, completing [`super::scan`]. A reference for tests.

use crate::kernels::{ScanConfig, WORKGROUP_SIZE};

pub fn main(config: &ScanConfig, sums: &[[u32; 4]], data: &mut [[u32; 4]], index: u32) {
    if index >= config.count {
        return;
    }
    let sum = sums[(index / WORKGROUP_SIZE) as usize];
    let value = &mut data[index as usize];
    for k in 0..4 {
        value[k] = value[k].wrapping_add(sum[k]);
    }
}
