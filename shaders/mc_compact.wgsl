// Marching cubes, step 3 of 5: the list of active points (those that make a vertex or a
// triangle), in grid order, at the places `scan` gave them. The emitting kernels then run one
// invocation per active point instead of one per grid point, most of which make nothing.
// CPU counterpart (active cells straight from bitsets): engine/src/cpu/marching_cubes.rs.

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
@group(0) @binding(1) var<storage, read> offsets: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> active_points: array<u32>;

const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    // An exclusive scan: the point is active when the next offset is one more.
    if offsets[index + 1u].z != offsets[index].z {
        active_points[offsets[index].z] = index;
    }
}
