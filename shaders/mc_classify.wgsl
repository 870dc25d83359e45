// Marching cubes, step 1 of 5: classify every grid point of a slab.
//
// Each point of the padded grid owns the three edges leaving it towards +x, +y and +z, and
// the cell whose first corner it is. This kernel finds which of its edges the surface crosses
// and the cell's case, and counts the vertices and triangles the point will make; `scan` then
// turns the counts into output offsets. Points in the padding are outside.
// CPU counterpart (flying edges, same output): engine/src/cpu/marching_cubes.rs.

struct McConfig {
    count: u32,
    // Padded grid points along x and y, and z of the whole padded grid.
    npx: u32,
    npy: u32,
    npz: u32,
    // The slab: point planes p0..p0 + planes - 1; cells in all but the last plane.
    p0: u32,
    planes: u32,
    // Unpadded voxels, and the first voxel plane held in `values`.
    nx: u32,
    ny: u32,
    nz: u32,
    z0: u32,
    iso: f32,
    // The number of the slab's first vertex, for mc_triangles.
    base: u32,
}

@group(0) @binding(0) var<uniform> config: McConfig;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<u32>;
@group(0) @binding(4) var<storage, read_write> counts: array<vec4<u32>>;

const WORKGROUP_SIZE: u32 = 256u;

fn inside(p: vec3<u32>) -> bool {
    if any(p == vec3<u32>(0u)) || p.x > config.nx || p.y > config.ny || p.z > config.nz {
        return false;
    }
    let v = p - vec3<u32>(1u);
    return values[((v.z - config.z0) * config.ny + v.y) * config.nx + v.x] >= config.iso;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    let plane = config.npx * config.npy;
    let local_z = index / plane;
    let p = vec3<u32>(index % config.npx, (index / config.npx) % config.npy, config.p0 + local_z);
    let here = inside(p);
    var edges = 0u;
    if p.x + 1u < config.npx && inside(p + vec3<u32>(1u, 0u, 0u)) != here {
        edges |= 1u;
    }
    if p.y + 1u < config.npy && inside(p + vec3<u32>(0u, 1u, 0u)) != here {
        edges |= 2u;
    }
    if p.z + 1u < config.npz && inside(p + vec3<u32>(0u, 0u, 1u)) != here {
        edges |= 4u;
    }
    var case_index = 0u;
    var triangles = 0u;
    if p.x + 1u < config.npx && p.y + 1u < config.npy && local_z + 1u < config.planes {
        for (var c = 0u; c < 8u; c++) {
            let corner = p + vec3<u32>(c & 1u, (c >> 1u) & 1u, (c >> 2u) & 1u);
            if inside(corner) {
                case_index |= 1u << c;
            }
        }
        triangles = table[case_index + 1u] - table[case_index];
    }
    info[index] = case_index | edges << 8u;
    let is_active = select(0u, 1u, edges != 0u || triangles != 0u);
    counts[index] = vec4<u32>(countOneBits(edges), triangles, is_active, 0u);
}
