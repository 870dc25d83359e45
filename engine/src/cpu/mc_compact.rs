//! Twin of `shaders/mc_compact.wgsl`, loop for loop: marching cubes, step 3 of 5, the list of
//! active points at the places the scan gave them. A reference for tests.

use crate::kernels::McConfig;

pub fn main(config: &McConfig, offsets: &[[u32; 4]], active_points: &mut [u32], index: u32) {
    if index >= config.count {
        return;
    }
    let i = index as usize;
    // An exclusive scan: the point is active when the next offset is one more.
    if offsets[i + 1][2] != offsets[i][2] {
        active_points[offsets[i][2] as usize] = index;
    }
}
