// The thumbnail render pass: flat-shaded triangles in an orthographic three-quarter view.
// Its CPU twin is engine/src/thumbnail/raster.rs, which computes each pixel the same way.

struct ThumbnailConfig {
    // The view's axes in model space: screen right, screen up, and toward the viewer.
    right: vec4<f32>,
    up: vec4<f32>,
    toward: vec4<f32>,
    // xy: the model's centre on screen; z: pixels per millimetre; w: the image's side.
    frame: vec4<f32>,
    // x, y: the nearest and farthest depth along `toward`.
    depth: vec4<f32>,
    // The light's direction (toward it), in model space.
    light: vec4<f32>,
    // rgb: the model's colour; a: the ambient share of the light.
    base: vec4<f32>,
}

@group(0) @binding(0) var<uniform> config: ThumbnailConfig;

struct Corner {
    @builtin(position) clip: vec4<f32>,
    @location(0) @interpolate(flat) normal: vec3<f32>,
}

@vertex
fn vertex_main(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>) -> Corner {
    let half = config.frame.w * 0.5;
    let sx = (dot(position, config.right.xyz) - config.frame.x) * config.frame.z;
    let sy = (dot(position, config.up.xyz) - config.frame.y) * config.frame.z;
    let d = dot(position, config.toward.xyz);
    // Nearer is smaller: 0 at the nearest point, 1 at the farthest.
    let z = (config.depth.x - d) / (config.depth.x - config.depth.y);
    var out: Corner;
    out.clip = vec4<f32>(sx / half, sy / half, z, 1.0);
    out.normal = normal;
    return out;
}

@fragment
fn fragment_main(corner: Corner) -> @location(0) vec4<f32> {
    let lit = max(dot(corner.normal, config.light.xyz), 0.0);
    let shade = config.base.a + (1.0 - config.base.a) * lit;
    return vec4<f32>(config.base.rgb * shade, 1.0);
}
