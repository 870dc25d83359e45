// Marching cubes, step 4 of 5: one vertex per crossed edge, written by the edge's owner.
// One invocation per active point, from the list `mc_compact` made.
//
// The position is interpolated to the isovalue, kept EDGE_MARGIN from the edge's ends so
// that no two vertices coincide; the normal is the field's gradient (central differences,
// clamped at the volume's edge) interpolated along the edge, pointing out of the solid. An
// edge into the padding puts its vertex halfway, closing the surface half a voxel outside.
// Each vertex is six floats: position in voxel coordinates, then normal.
// CPU counterpart: Slab::vertex in engine/src/isosurface/mod.rs, called from
// engine/src/cpu/marching_cubes.rs.

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
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> info: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> active_points: array<u32>;
@group(0) @binding(5) var<storage, read_write> vertices: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;
const EDGE_MARGIN: f32 = 1.0 / 1024.0;

fn in_volume(p: vec3<u32>) -> bool {
    return all(p != vec3<u32>(0u)) && p.x <= config.nx && p.y <= config.ny && p.z <= config.nz;
}

fn voxel(v: vec3<u32>) -> f32 {
    return values[((v.z - config.z0) * config.ny + v.y) * config.nx + v.x];
}

fn gradient(v: vec3<u32>) -> vec3<f32> {
    let dims = vec3<u32>(config.nx, config.ny, config.nz);
    var g = vec3<f32>(0.0);
    for (var axis = 0u; axis < 3u; axis++) {
        let lo = select(v[axis] - 1u, 0u, v[axis] == 0u);
        let hi = min(v[axis] + 1u, dims[axis] - 1u);
        if hi > lo {
            var a = v;
            var b = v;
            a[axis] = lo;
            b[axis] = hi;
            g[axis] = (voxel(b) - voxel(a)) / f32(hi - lo);
        }
    }
    return g;
}

fn write_vertex(slot: u32, p: vec3<u32>, axis: u32) {
    var q = p;
    q[axis] += 1u;
    var position = vec3<f32>(p) - vec3<f32>(1.0);
    var normal = vec3<f32>(0.0);
    if in_volume(p) && in_volume(q) {
        let v0 = voxel(p - vec3<u32>(1u));
        let v1 = voxel(q - vec3<u32>(1u));
        let t = clamp((config.iso - v0) / (v1 - v0), EDGE_MARGIN, 1.0 - EDGE_MARGIN);
        position[axis] += t;
        let g0 = gradient(p - vec3<u32>(1u));
        let g1 = gradient(q - vec3<u32>(1u));
        let g = g0 + t * (g1 - g0);
        let len = sqrt(g.x * g.x + g.y * g.y + g.z * g.z);
        if len > 0.0 {
            normal = -g / len;
        } else {
            normal[axis] = select(-1.0, 1.0, v0 >= config.iso);
        }
    } else {
        position[axis] += 0.5;
        normal[axis] = select(-1.0, 1.0, in_volume(p));
    }
    let at = slot * 6u;
    vertices[at] = position.x;
    vertices[at + 1u] = position.y;
    vertices[at + 2u] = position.z;
    vertices[at + 3u] = normal.x;
    vertices[at + 4u] = normal.y;
    vertices[at + 5u] = normal.z;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let slot_index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if slot_index >= config.count {
        return;
    }
    let index = active_points[slot_index];
    let edges = info[index] >> 8u;
    if edges == 0u {
        return;
    }
    let plane = config.npx * config.npy;
    let p = vec3<u32>(index % config.npx, (index / config.npx) % config.npy, config.p0 + index / plane);
    var slot = offsets[index].x;
    for (var axis = 0u; axis < 3u; axis++) {
        if (edges >> axis & 1u) == 1u {
            write_vertex(slot, p, axis);
            slot += 1u;
        }
    }
}
