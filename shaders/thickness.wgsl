// Tone curve, mask and thickness in millimetres for one band of grid vertices.
//
// value = levels(luma) -> invert -> gamma, all in 0..1. Thickness is `base_mm + value * span_mm`:
// a relief has span = relief height (bright is high); a lithophane has base = max and
// span = min - max (dark is thick). With `model` transmittance (lithophanes), the value sets
// the transmitted light instead, by Beer-Lambert: t mm pass 10^(-t / td_mm) of it.
//
// The panel is cut to its outline (rectangle, ellipse or heart): vertices outside it are empty,
// and those within `frame_mm` inside it are frame, solid at `frame_thickness_mm`. A hanger hole
// of radius `hanger_r_mm` is empty, inside a solid collar. `inside` says whether the vertex
// carries material under the mask, the outline and the hole.
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
    outline: u32,
    outline_a: f32,
    outline_b: f32,
    hanger_y_mm: f32,
    hanger_r_mm: f32,
    collar_r_mm: f32,
    collar_thickness_mm: f32,
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
const OUTLINE_RECT: u32 = 0u;
const OUTLINE_ELLIPSE: u32 = 1u;
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

    // Millimetres from the top-left corner, and the signed distance to the outline.
    let x = f32(i) * config.pitch_mm;
    let y = f32(j) * config.pitch_mm;
    let centre = vec2<f32>(f32(config.width - 1u), f32(config.height - 1u)) * (0.5 * config.pitch_mm);
    var inward = 0.0;
    if config.outline == OUTLINE_RECT {
        let edge = min(min(i, config.width - 1u - i), min(j, config.height - 1u - j));
        inward = f32(edge) * config.pitch_mm;
    } else if config.outline == OUTLINE_ELLIPSE {
        inward = ellipse_inward(vec2<f32>(x, y) - centre, config.outline_a, config.outline_b);
    } else {
        let s = config.outline_a;
        inward = -s * heart_distance(vec2<f32>((x - centre.x) / s, (config.outline_b - y) / s));
    }
    if inward < config.frame_mm {
        t = config.frame_thickness_mm;
        solid = 1u;
    }
    if inward < 0.0 {
        solid = 0u;
    }
    if config.hanger_r_mm > 0.0 {
        let from_hole = length(vec2<f32>(x - centre.x, y - config.hanger_y_mm));
        if from_hole < config.collar_r_mm {
            t = config.collar_thickness_mm;
            solid = select(1u, 0u, from_hole < config.hanger_r_mm);
        }
    }
    thickness[index] = t;
    inside[index] = solid;
}

// Distance inside the ellipse with semi-axes a and b around the origin (negative outside):
// exact for a circle, the first-order estimate f / |grad f| otherwise.
fn ellipse_inward(q: vec2<f32>, a: f32, b: f32) -> f32 {
    if a == b {
        return a - length(q);
    }
    let f = (q.x / a) * (q.x / a) + (q.y / b) * (q.y / b) - 1.0;
    let g = 2.0 * length(vec2<f32>(q.x / (a * a), q.y / (b * b)));
    if g < 1e-20 {
        return min(a, b);
    }
    return -f / g;
}

// The exact signed distance to a heart of unit size with its point at the origin, lobes up
// (Inigo Quilez, "2D distance functions"): negative inside.
fn heart_distance(q: vec2<f32>) -> f32 {
    let p = vec2<f32>(abs(q.x), q.y);
    if p.x + p.y > 1.0 {
        return length(p - vec2<f32>(0.25, 0.75)) - 0.35355339059327373;
    }
    let to_top = p - vec2<f32>(0.0, 1.0);
    let to_side = p - vec2<f32>(0.5, 0.5) * max(p.x + p.y, 0.0);
    let side = select(select(0.0, -1.0, p.x < p.y), 1.0, p.x > p.y);
    return sqrt(min(dot(to_top, to_top), dot(to_side, to_side))) * side;
}
