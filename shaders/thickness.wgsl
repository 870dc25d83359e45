// Tone curve, mask and thickness in millimetres for one band of grid vertices.
//
// value = levels(luma) -> invert -> gamma, all in 0..1. Thickness is `base_mm + value * span_mm`:
// a relief has span = relief height (bright is high); a lithophane has base = max and
// span = min - max (dark is thick). With `model` transmittance (lithophanes), the value sets
// the transmitted light instead, by Beer-Lambert: t mm pass 10^(-t / td_mm) of it. Vertices within `frame_mm` of the border are frame: solid at
// `frame_thickness_mm`. `inside` says whether the vertex carries material under the mask.
// CPU twin: engine/src/cpu/thickness.rs.

struct ThicknessConfig {
    count: u32,
    width: u32,
    height: u32,
    row0: u32,
    mask: u32,
    invert: u32,
    level_lo: f32,
    level_hi: f32,
    gamma: f32,
    threshold: f32,
    base_mm: f32,
    span_mm: f32,
    pitch_mm: f32,
    frame_mm: f32,
    frame_thickness_mm: f32,
    model: u32,
    td_mm: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> config: ThicknessConfig;
@group(0) @binding(1) var<storage, read> luma: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read_write> thickness: array<f32>;
@group(0) @binding(4) var<storage, read_write> inside: array<u32>;

const WORKGROUP_SIZE: u32 = 256u;
const MASK_NONE: u32 = 0u;
const MASK_ALPHA: u32 = 1u;
const MODEL_TRANSMITTANCE: u32 = 1u;
const LOG2_10: f32 = 3.321928094887362;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    if index >= config.count {
        return;
    }
    let i = index % config.width;
    let j = config.row0 + index / config.width;

    var value = 0.0;
    if config.level_hi > config.level_lo {
        value = clamp((luma[index] - config.level_lo) / (config.level_hi - config.level_lo), 0.0, 1.0);
    }
    if config.invert != 0u {
        value = 1.0 - value;
    }
    if config.gamma != 1.0 && value > 0.0 {
        value = pow(value, config.gamma);
    }

    var solid = 1u;
    if config.mask == MASK_ALPHA {
        solid = select(0u, 1u, alpha[index] >= config.threshold);
    } else if config.mask != MASK_NONE {
        solid = select(0u, 1u, value >= config.threshold);
    }
    var t = config.base_mm + value * config.span_mm;
    if config.model == MODEL_TRANSMITTANCE {
        // Beer-Lambert: t mm pass 10^(-t / td) of the light. The value sets the light between
        // what the thickest (black, `base`) and thinnest (white, `base + span`) parts pass.
        let thin = config.base_mm + config.span_mm;
        let dark = exp2(-config.base_mm / config.td_mm * LOG2_10);
        let bright = exp2(-thin / config.td_mm * LOG2_10);
        let light = dark + value * (bright - dark);
        t = -config.td_mm * log2(light) / LOG2_10;
    }

    let edge = min(min(i, config.width - 1u - i), min(j, config.height - 1u - j));
    if f32(edge) * config.pitch_mm < config.frame_mm {
        t = config.frame_thickness_mm;
        solid = 1u;
    }
    thickness[index] = t;
    inside[index] = solid;
}
