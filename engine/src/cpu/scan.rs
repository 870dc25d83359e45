//! Twin of `shaders/scan.wgsl`, loop for loop: each block of [`WORKGROUP_SIZE`] groups of four
//! counts scanned (exclusive) in its tile by doubling offsets, its total written to `sums`. A
//! reference for tests; the fast CPU path sums rows in [`super::marching_cubes`].

use crate::kernels::{ScanConfig, WORKGROUP_SIZE};

fn add(a: [u32; 4], b: [u32; 4]) -> [u32; 4] {
    [0, 1, 2, 3].map(|k| a[k].wrapping_add(b[k]))
}

/// One workgroup, `group`: its lanes run in lock step, as the barriers make them.
pub fn workgroup(config: &ScanConfig, data: &mut [[u32; 4]], sums: &mut [[u32; 4]], group: u32) {
    let size = WORKGROUP_SIZE as usize;
    let mut values = vec![[0u32; 4]; size];
    let mut tile = vec![[0u32; 4]; size];
    for lane in 0..size {
        let index = group as usize * size + lane;
        if index < config.count as usize {
            values[lane] = data[index];
        }
        tile[lane] = values[lane];
    }
    let mut offset = 1;
    while offset < size {
        let adds: Vec<[u32; 4]> = (0..size)
            .map(|lane| if lane >= offset { tile[lane - offset] } else { [0; 4] })
            .collect();
        for lane in 0..size {
            tile[lane] = add(tile[lane], adds[lane]);
        }
        offset <<= 1;
    }
    for lane in 0..size {
        let index = group as usize * size + lane;
        if index < config.count as usize {
            data[index] = [0, 1, 2, 3].map(|k| tile[lane][k].wrapping_sub(values[lane][k]));
        }
    }
    sums[group as usize] = tile[size - 1];
}

/// Every workgroup of the dispatch.
pub fn run(config: &ScanConfig, data: &mut [[u32; 4]], sums: &mut [[u32; 4]]) {
    for group in 0..config.count.div_ceil(WORKGROUP_SIZE) {
        workgroup(config, data, sums, group);
    }
}
