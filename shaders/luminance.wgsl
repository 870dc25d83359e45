// Luminance and alpha of one band of decoded pixels.
//
// Input is the decoder's pixels as interleaved floats in 0..1 (1 to 4 channels per pixel).
// Luminance uses the Rec. 709 weights on the stored (gamma-encoded) values, which is what
// image editors show as "brightness"; alpha is 1 where the image has none.
// CPU twin: engine/src/cpu/luminance.rs.

struct LuminanceConfig {
    count: u32,
    channels: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> config: LuminanceConfig;
@group(0) @binding(1) var<storage, read> pixels: array<f32>;
@group(0) @binding(2) var<storage, read_write> luma: array<f32>;
@group(0) @binding(3) var<storage, read_write> alpha: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;
const REC709 = vec3<f32>(0.2126, 0.7152, 0.0722);

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    let base = index * config.channels;
    var l = pixels[base];
    var a = 1.0;
    if config.channels == 2u {
        a = pixels[base + 1u];
    } else if config.channels >= 3u {
        l = REC709.x * pixels[base] + REC709.y * pixels[base + 1u] + REC709.z * pixels[base + 2u];
        if config.channels == 4u {
            a = pixels[base + 3u];
        }
    }
    luma[index] = l;
    alpha[index] = a;
}
