//! Twin of `shaders/mc_triangles.wgsl`, loop for loop: marching cubes, step 5 of 5, each active
//! cell's triangles as indices of the vertices its edges' owners made. A reference for tests.

use crate::kernels::McConfig;

fn edge_vertex(
    config: &McConfig,
    info: &[u32],
    offsets: &[[u32; 4]],
    index: u32,
    edge: u32,
) -> u32 {
    let axis = edge / 4;
    let a = edge & 1;
    let b = (edge >> 1) & 1;
    let offset = match axis {
        0 => [0, a, b],
        1 => [a, 0, b],
        _ => [a, b, 0],
    };
    let owner = index + offset[0] + offset[1] * config.npx + offset[2] * config.npx * config.npy;
    let edges = info[owner as usize] >> 8;
    let before = edges & ((1 << axis) - 1);
    config.base + offsets[owner as usize][0] + before.count_ones()
}

pub fn main(
    config: &McConfig,
    table: &[u32],
    info: &[u32],
    offsets: &[[u32; 4]],
    active_points: &[u32],
    triangles: &mut [u32],
    slot_index: u32,
) {
    if slot_index >= config.count {
        return;
    }
    let index = active_points[slot_index as usize];
    let case_index = (info[index as usize] & 255) as usize;
    let (first, last) = (table[case_index], table[case_index + 1]);
    // The shader's loop, its slot counted beside it.
    let mut slot = offsets[index as usize][1];
    #[expect(clippy::explicit_counter_loop, reason = "loop for loop like the shader")]
    for t in first..last {
        let edges = table[257 + t as usize];
        let at = slot as usize * 3;
        triangles[at] = edge_vertex(config, info, offsets, index, edges & 255);
        triangles[at + 1] = edge_vertex(config, info, offsets, index, (edges >> 8) & 255);
        triangles[at + 2] = edge_vertex(config, info, offsets, index, (edges >> 16) & 255);
        slot += 1;
    }
}
