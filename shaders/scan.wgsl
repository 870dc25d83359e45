// Exclusive prefix sum of groups of four counts, one workgroup of 256 elements at a time.
//
// Each workgroup scans its block in shared memory and writes the block's total to `sums`; the
// host scans `sums` the same way (recursively) and `scan_add` adds each block's offset back.
// CPU counterpart: the row prefix sum in engine/src/cpu/marching_cubes.rs.

struct ScanConfig {
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> config: ScanConfig;
@group(0) @binding(1) var<storage, read_write> data: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<vec4<u32>>;

const WORKGROUP_SIZE: u32 = 256u;

var<workgroup> tile: array<vec4<u32>, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group_id: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let group = group_id.x + group_id.y * groups.x;
    let index = group * WORKGROUP_SIZE + lane;
    var value = vec4<u32>(0u);
    if index < config.count {
        value = data[index];
    }
    tile[lane] = value;
    for (var offset = 1u; offset < WORKGROUP_SIZE; offset <<= 1u) {
        workgroupBarrier();
        var add = vec4<u32>(0u);
        if lane >= offset {
            add = tile[lane - offset];
        }
        workgroupBarrier();
        tile[lane] += add;
    }
    workgroupBarrier();
    if index < config.count {
        data[index] = tile[lane] - value;
    }
    if lane == WORKGROUP_SIZE - 1u {
        sums[group] = tile[lane];
    }
}
