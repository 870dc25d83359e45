// One pass of a separable 3-D Gaussian blur along x (axis 0), y (1) or z (2) of a block of
// voxel planes, x fastest.
//
// Weights are computed once on the host and normalised there. Samples beyond the block repeat
// its edge voxel; the host loads `radius` planes of halo above and below each slab, so only
// the volume's own edges are ever clamped in the planes it keeps.
// CPU twin: engine/src/cpu/volume_blur.rs.

struct VolumeBlurConfig {
    count: u32,
    nx: u32,
    ny: u32,
    nz: u32,
    axis: u32,
    radius: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> config: VolumeBlurConfig;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    let plane = config.nx * config.ny;
    let p = vec3<i32>(
        i32(index % config.nx),
        i32((index / config.nx) % config.ny),
        i32(index / plane),
    );
    let size = vec3<i32>(i32(config.nx), i32(config.ny), i32(config.nz));
    let r = i32(config.radius);
    var sum = 0.0;
    for (var d = -r; d <= r; d++) {
        var q = p;
        q[config.axis] = clamp(p[config.axis] + d, 0, size[config.axis] - 1);
        sum += weights[u32(d + r)] * src[u32(q.z) * plane + u32(q.y) * config.nx + u32(q.x)];
    }
    dst[index] = sum;
}
