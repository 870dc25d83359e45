// One pass of a separable Gaussian blur, along rows (axis 0) or columns (axis 1).
//
// Weights are computed once on the host and normalised there, so both backends use the same
// numbers. Samples beyond the image edge repeat the edge pixel.
//
// The output is one band of rows; the input is that band plus `radius` rows of halo above and
// below (clipped at the image edge) when blurring along columns.
// CPU twin: engine/src/cpu/blur.rs.

struct BlurConfig {
    count: u32,
    width: u32,
    height: u32,
    axis: u32,
    radius: u32,
    src_row0: u32,
    dst_row0: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> config: BlurConfig;
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
    let i = i32(index % config.width);
    let j = i32(config.dst_row0 + index / config.width);
    let r = i32(config.radius);
    var sum = 0.0;
    for (var d = -r; d <= r; d++) {
        var x = i;
        var y = j;
        if config.axis == 0u {
            x = clamp(i + d, 0, i32(config.width) - 1);
        } else {
            y = clamp(j + d, 0, i32(config.height) - 1);
        }
        let row = u32(y) - config.src_row0;
        sum += weights[u32(d + r)] * src[row * config.width + u32(x)];
    }
    dst[index] = sum;
}
