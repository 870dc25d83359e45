//! CPU twin of `shaders/thumbnail.wgsl`: the same view, depth and shading, rasterised with
//! edge functions at pixel centres and a depth buffer. Faces turned away are culled, as the
//! render pass culls them. Bands of rows are drawn in parallel, each with the triangles that
//! reach it, in their order.

use rayon::prelude::*;

use super::{Shaded, ThumbnailConfig};

/// Rows per band drawn by one thread.
const BAND: usize = 32;

fn dot(a: [f32; 3], b: [f32; 4]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The colour of a face with unit normal `normal`, as the fragment shader computes it,
/// in 0..1.
pub fn shade(config: &ThumbnailConfig, normal: [f32; 3]) -> [f32; 3] {
    let lit = dot(normal, config.light).max(0.0);
    let shade = config.base[3] + (1.0 - config.base[3]) * lit;
    [config.base[0] * shade, config.base[1] * shade, config.base[2] * shade]
}

/// Where `position` lands: pixel x and y (from the top left) and depth (0 nearest), as the
/// vertex shader and the rasteriser's viewport transform place it.
fn project(config: &ThumbnailConfig, position: [f32; 3]) -> [f32; 3] {
    let side = config.frame[3];
    let half = side * 0.5;
    let sx = (dot(position, config.right) - config.frame[0]) * config.frame[2];
    let sy = (dot(position, config.up) - config.frame[1]) * config.frame[2];
    let d = dot(position, config.toward);
    let z = (config.depth[0] - d) / (config.depth[0] - config.depth[1]);
    [sx + half, half - sy, z]
}

/// A triangle facing the viewer, on screen.
struct Projected {
    corners: [[f32; 3]; 3],
    inverse_area: f32,
    colour: [u8; 4],
    /// Its pixels' box: columns `x0..x1`, rows `y0..y1`.
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
}

fn setup(config: &ThumbnailConfig, t: &Shaded, n: usize) -> Option<Projected> {
    let [a, b, c] = t.corners.map(|p| project(config, p));
    // Twice the signed area in pixels, whose y runs down: negative for a triangle
    // counter-clockwise on screen, which faces the viewer.
    let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if area >= 0.0 || !area.is_finite() {
        return None;
    }
    let [r, g, bl] = shade(config, t.normal).map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
    let (x0, x1) = (a[0].min(b[0]).min(c[0]), a[0].max(b[0]).max(c[0]));
    let (y0, y1) = (a[1].min(b[1]).min(c[1]), a[1].max(b[1]).max(c[1]));
    if x1 < 0.0 || y1 < 0.0 || x0 > n as f32 || y0 > n as f32 {
        return None;
    }
    Some(Projected {
        corners: [a, b, c],
        inverse_area: 1.0 / area,
        colour: [r, g, bl, 255],
        x0: x0.floor().max(0.0) as usize,
        x1: (x1.ceil() as usize).min(n),
        y0: y0.floor().max(0.0) as usize,
        y1: (y1.ceil() as usize).min(n),
    })
}

/// Draws `t` into the band of rows `first..first + depth.len() / n`.
fn draw(t: &Projected, n: usize, first: usize, pixels: &mut [u8], depth: &mut [f32]) {
    let [a, b, c] = t.corners;
    let edge = |p: [f32; 3], q: [f32; 3], x: f32, y: f32| {
        ((q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])) * t.inverse_area
    };
    let rows = depth.len() / n;
    for py in t.y0.max(first)..t.y1.min(first + rows) {
        let y = py as f32 + 0.5;
        for px in t.x0..t.x1 {
            let x = px as f32 + 0.5;
            // Barycentric weights; a pixel centre on an edge belongs to both sides.
            let (wa, wb, wc) = (edge(b, c, x, y), edge(c, a, x, y), edge(a, b, x, y));
            if wa < 0.0 || wb < 0.0 || wc < 0.0 {
                continue;
            }
            let z = wa * a[2] + wb * b[2] + wc * c[2];
            let i = (py - first) * n + px;
            if z < depth[i] {
                depth[i] = z;
                pixels[i * 4..i * 4 + 4].copy_from_slice(&t.colour);
            }
        }
    }
}

/// Renders `triangles` into `side` x `side` RGBA pixels (transparent background).
pub fn render(config: &ThumbnailConfig, triangles: &[Shaded], side: u32) -> Vec<u8> {
    let n = side as usize;
    let projected: Vec<Projected> =
        triangles.par_iter().filter_map(|t| setup(config, t, n)).collect();
    let bands = n.div_ceil(BAND);
    let mut reaching = vec![Vec::new(); bands];
    for (i, t) in projected.iter().enumerate() {
        if t.y0 >= t.y1 {
            continue;
        }
        for band in &mut reaching[t.y0 / BAND..=(t.y1 - 1) / BAND] {
            band.push(i as u32);
        }
    }
    let mut depth = vec![f32::INFINITY; n * n];
    let mut pixels = vec![0u8; n * n * 4];
    pixels
        .par_chunks_mut(BAND * n * 4)
        .zip(depth.par_chunks_mut(BAND * n))
        .zip(&reaching)
        .enumerate()
        .for_each(|(band, ((pixels, depth), reaching))| {
            for &i in reaching {
                draw(&projected[i as usize], n, band * BAND, pixels, depth);
            }
        });
    pixels
}
