//! Twin of `shaders/mc_classify.wgsl`, loop for loop: marching cubes, step 1 of 5. A
//! reference for tests; the fast CPU path is [`super::marching_cubes`] (flying edges).

use crate::kernels::McConfig;

/// Whether padded grid point `p` is inside the surface (the padding is outside).
fn inside(config: &McConfig, values: &[f32], p: [u32; 3]) -> bool {
    if p.contains(&0) || p[0] > config.nx || p[1] > config.ny || p[2] > config.nz {
        return false;
    }
    let v = p.map(|c| c - 1);
    let at = ((v[2] - config.z0) * config.ny + v[1]) * config.nx + v[0];
    values[at as usize] >= config.iso
}

/// One invocation: point `index`'s crossed edges and cell case into `info`, and its vertex,
/// triangle and active counts into `counts`.
pub fn main(
    config: &McConfig,
    table: &[u32],
    values: &[f32],
    info: &mut [u32],
    counts: &mut [[u32; 4]],
    index: u32,
) {
    if index >= config.count {
        return;
    }
    let plane = config.npx * config.npy;
    let local_z = index / plane;
    let p = [index % config.npx, (index / config.npx) % config.npy, config.p0 + local_z];
    let here = inside(config, values, p);
    let mut edges = 0u32;
    if p[0] + 1 < config.npx && inside(config, values, [p[0] + 1, p[1], p[2]]) != here {
        edges |= 1;
    }
    if p[1] + 1 < config.npy && inside(config, values, [p[0], p[1] + 1, p[2]]) != here {
        edges |= 2;
    }
    if p[2] + 1 < config.npz && inside(config, values, [p[0], p[1], p[2] + 1]) != here {
        edges |= 4;
    }
    let mut case_index = 0u32;
    let mut triangles = 0u32;
    if p[0] + 1 < config.npx && p[1] + 1 < config.npy && local_z + 1 < config.planes {
        for c in 0..8u32 {
            let corner = [p[0] + (c & 1), p[1] + ((c >> 1) & 1), p[2] + ((c >> 2) & 1)];
            if inside(config, values, corner) {
                case_index |= 1 << c;
            }
        }
        triangles = table[case_index as usize + 1] - table[case_index as usize];
    }
    info[index as usize] = case_index | edges << 8;
    let is_active = u32::from(edges != 0 || triangles != 0);
    counts[index as usize] = [edges.count_ones(), triangles, is_active, 0];
}
