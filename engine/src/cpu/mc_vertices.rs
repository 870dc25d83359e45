//! Twin of `shaders/mc_vertices.wgsl`, loop for loop: marching cubes, step 4 of 5, a vertex and
//! its normal on each crossed edge an active point owns. A reference for tests; the fast CPU
//! path is [`super::marching_cubes`].

use crate::kernels::McConfig;

const EDGE_MARGIN: f32 = 1.0 / 1024.0;

fn in_volume(config: &McConfig, p: [u32; 3]) -> bool {
    !p.contains(&0) && p[0] <= config.nx && p[1] <= config.ny && p[2] <= config.nz
}

fn voxel(config: &McConfig, values: &[f32], v: [u32; 3]) -> f32 {
    values[(((v[2] - config.z0) * config.ny + v[1]) * config.nx + v[0]) as usize]
}

fn gradient(config: &McConfig, values: &[f32], v: [u32; 3]) -> [f32; 3] {
    let dims = [config.nx, config.ny, config.nz];
    let mut g = [0.0f32; 3];
    for axis in 0..3 {
        let lo = if v[axis] == 0 { 0 } else { v[axis] - 1 };
        let hi = (v[axis] + 1).min(dims[axis] - 1);
        if hi > lo {
            let (mut a, mut b) = (v, v);
            a[axis] = lo;
            b[axis] = hi;
            g[axis] = (voxel(config, values, b) - voxel(config, values, a)) / (hi - lo) as f32;
        }
    }
    g
}

fn write_vertex(
    config: &McConfig,
    values: &[f32],
    vertices: &mut [f32],
    slot: u32,
    p: [u32; 3],
    axis: usize,
) {
    let mut q = p;
    q[axis] += 1;
    let mut position = p.map(|c| c as f32 - 1.0);
    let mut normal = [0.0f32; 3];
    let minus_one = |c: [u32; 3]| c.map(|x| x - 1);
    if in_volume(config, p) && in_volume(config, q) {
        let v0 = voxel(config, values, minus_one(p));
        let v1 = voxel(config, values, minus_one(q));
        let t = ((config.iso - v0) / (v1 - v0)).clamp(EDGE_MARGIN, 1.0 - EDGE_MARGIN);
        position[axis] += t;
        let g0 = gradient(config, values, minus_one(p));
        let g1 = gradient(config, values, minus_one(q));
        let g = [0, 1, 2].map(|k| g0[k] + t * (g1[k] - g0[k]));
        let len = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
        if len > 0.0 {
            normal = g.map(|c| -c / len);
        } else {
            normal[axis] = if v0 >= config.iso { 1.0 } else { -1.0 };
        }
    } else {
        position[axis] += 0.5;
        normal[axis] = if in_volume(config, p) { 1.0 } else { -1.0 };
    }
    let at = slot as usize * 6;
    vertices[at..at + 3].copy_from_slice(&position);
    vertices[at + 3..at + 6].copy_from_slice(&normal);
}

pub fn main(
    config: &McConfig,
    values: &[f32],
    info: &[u32],
    offsets: &[[u32; 4]],
    active_points: &[u32],
    vertices: &mut [f32],
    slot_index: u32,
) {
    if slot_index >= config.count {
        return;
    }
    let index = active_points[slot_index as usize];
    let edges = info[index as usize] >> 8;
    if edges == 0 {
        return;
    }
    let plane = config.npx * config.npy;
    let p = [index % config.npx, (index / config.npx) % config.npy, config.p0 + index / plane];
    let mut slot = offsets[index as usize][0];
    for axis in 0..3 {
        if (edges >> axis) & 1 == 1 {
            write_vertex(config, values, vertices, slot, p, axis);
            slot += 1;
        }
    }
}
