// Marching cubes, step 5 of 5: each cell's triangles from the case table, one invocation per
// active point.
//
// A triangle names cube edges; each edge belongs to the grid point at its lower end, so its
// vertex number is that point's first vertex plus the crossed edges it owns before this axis.
// Cells in the slab's last layer refer to points of the next slab's first plane, which
// `mc_classify` counted here too, so the seam needs no stitching pass.
// CPU counterpart: engine/src/cpu/marching_cubes.rs.

struct McConfig {
    count: u32,
    npx: u32,
    npy: u32,
    npz: u32,
    p0: u32,
    planes: u32,
    nx: u32,
    ny: u32,
    nz: u32,
    z0: u32,
    iso: f32,
    base: u32,
}

@group(0) @binding(0) var<uniform> config: McConfig;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> info: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> active_points: array<u32>;
@group(0) @binding(5) var<storage, read_write> triangles: array<u32>;

const WORKGROUP_SIZE: u32 = 256u;

fn edge_vertex(index: u32, edge: u32) -> u32 {
    let axis = edge / 4u;
    let a = edge & 1u;
    let b = (edge >> 1u) & 1u;
    var offset = vec3<u32>(a, b, 0u);
    if axis == 0u {
        offset = vec3<u32>(0u, a, b);
    } else if axis == 1u {
        offset = vec3<u32>(a, 0u, b);
    }
    let owner = index + offset.x + offset.y * config.npx + offset.z * config.npx * config.npy;
    let edges = info[owner] >> 8u;
    let before = edges & ((1u << axis) - 1u);
    return config.base + offsets[owner].x + countOneBits(before);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let slot_index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if slot_index >= config.count {
        return;
    }
    let index = active_points[slot_index];
    let case_index = info[index] & 255u;
    let first = table[case_index];
    let last = table[case_index + 1u];
    var slot = offsets[index].y;
    for (var t = first; t < last; t++) {
        let edges = table[257u + t];
        let at = slot * 3u;
        triangles[at] = edge_vertex(index, edges & 255u);
        triangles[at + 1u] = edge_vertex(index, (edges >> 8u) & 255u);
        triangles[at + 2u] = edge_vertex(index, (edges >> 16u) & 255u);
        slot += 1u;
    }
}
