// Resample a plane onto the target grid: area average when shrinking, bilinear when enlarging.
//
// Grid vertex i sits at source position i * scale, so the first and last vertices land on the
// first and last pixel centres. Along an axis that shrinks (scale > 1) each vertex averages the
// source pixels under a box `scale` pixels wide, weighting the edge pixels by their overlap; along
// an axis that enlarges, a tent of width 2 gives bilinear interpolation. At scale 1 both reduce
// to an exact copy.
//
// The output is one band of rows; the input is the band of source rows it reads.
// CPU twin: engine/src/cpu/resample.rs.

struct ResampleConfig {
    count: u32,
    src_width: u32,
    src_height: u32,
    src_row0: u32,
    dst_width: u32,
    dst_row0: u32,
    scale_x: f32,
    scale_y: f32,
}

@group(0) @binding(0) var<uniform> config: ResampleConfig;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;

// First and last source index (inclusive) that contribute to position `x`.
fn axis_span(x: f32, scale: f32, n: u32) -> vec2<i32> {
    var lo: i32;
    var hi: i32;
    if scale > 1.0 {
        lo = i32(floor(x - 0.5 * scale + 0.5));
        hi = i32(floor(x + 0.5 * scale + 0.5));
    } else {
        lo = i32(floor(x));
        hi = lo + 1;
    }
    return vec2<i32>(max(lo, 0), min(hi, i32(n) - 1));
}

// Weight of source index `k` for position `x`: box overlap, or tent.
fn axis_weight(k: i32, x: f32, scale: f32) -> f32 {
    let c = f32(k);
    if scale > 1.0 {
        let lo = max(x - 0.5 * scale, c - 0.5);
        let hi = min(x + 0.5 * scale, c + 0.5);
        return max(hi - lo, 0.0);
    }
    return max(1.0 - abs(x - c), 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    let i = index % config.dst_width;
    let j = config.dst_row0 + index / config.dst_width;
    let x = f32(i) * config.scale_x;
    let y = f32(j) * config.scale_y;
    let xs = axis_span(x, config.scale_x, config.src_width);
    let ys = axis_span(y, config.scale_y, config.src_height);
    var sum = 0.0;
    var norm = 0.0;
    for (var ky = ys.x; ky <= ys.y; ky++) {
        let wy = axis_weight(ky, y, config.scale_y);
        let row = u32(ky) - config.src_row0;
        for (var kx = xs.x; kx <= xs.y; kx++) {
            let w = wy * axis_weight(kx, x, config.scale_x);
            sum += w * src[row * config.src_width + u32(kx)];
            norm += w;
        }
    }
    dst[index] = sum / norm;
}
