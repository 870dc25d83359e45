// Adds each block's scanned offset to the block's elements, completing `scan`.
// CPU counterpart: the row prefix sum in engine/src/cpu/marching_cubes.rs.

struct ScanConfig {
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> config: ScanConfig;
@group(0) @binding(1) var<storage, read> sums: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> data: array<vec4<u32>>;

const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    data[index] += sums[index / WORKGROUP_SIZE];
}
