//! A shaded picture of every output: 512 x 512 pixels, the whole model in an orthographic
//! three-quarter view from the front right and above, flat-shaded, on a transparent
//! background. Slicers show it (3MF's `Metadata/thumbnail.png`), and so do the app's history
//! and the console.
//!
//! It is rendered from what the engine already holds, never from the written file: a
//! heightfield's thickness map, sampled down to at most [`MAX_CELLS`] cells on its long side
//! (walls and floor included), or an indexed mesh's triangles. On the GPU backend it is a wgpu
//! render pass (`shaders/thumbnail.wgsl`); on the CPU its twin, [`raster`], computes each pixel
//! the same way.

pub mod raster;

use bytemuck::{Pod, Zeroable};
use image::RgbaImage;

use crate::backend::Backend;
use crate::error::{EngineError, Result};
use crate::isosurface::IndexedMesh;
use crate::mesh::{Cells, Corner, Heightfield};

/// The render pass's shaders; [`raster`] is their CPU twin.
pub const THUMBNAIL_SHADER: &str = include_str!("../../../shaders/thumbnail.wgsl");

/// The side of a thumbnail, in pixels.
pub const SIDE: u32 = 512;

/// A heightfield is drawn from at most this many cells along its long side: about four
/// pixels a cell, finer than the eye resolves at this size.
pub const MAX_CELLS: u32 = 128;

/// The empty share of the picture around the model, on each side.
const MARGIN: f32 = 0.04;

/// The render's uniform: the view, the frame and the light (see `shaders/thumbnail.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ThumbnailConfig {
    pub right: [f32; 4],
    pub up: [f32; 4],
    pub toward: [f32; 4],
    pub frame: [f32; 4],
    pub depth: [f32; 4],
    pub light: [f32; 4],
    pub base: [f32; 4],
}

/// One triangle to draw, with its unit face normal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shaded {
    pub corners: [[f32; 3]; 3],
    pub normal: [f32; 3],
}

impl Shaded {
    fn new(corners: [[f32; 3]; 3]) -> Self {
        Self { corners, normal: crate::export::unit_normal(corners) }
    }
}

fn normalize(v: [f32; 3]) -> [f32; 3] {
    let length = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|c| c / length)
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn four(v: [f32; 3], w: f32) -> [f32; 4] {
    [v[0], v[1], v[2], w]
}

impl ThumbnailConfig {
    /// The view of `points` (millimetres), framed to fit their projection.
    pub fn framing<'a>(points: impl IntoIterator<Item = &'a [f32; 3]>) -> Self {
        // From 35 degrees right of the front, 40 degrees above.
        let (azimuth, elevation) = (35f32.to_radians(), 40f32.to_radians());
        let toward =
            [elevation.cos() * azimuth.sin(), -elevation.cos() * azimuth.cos(), elevation.sin()];
        let right = normalize(cross([0.0, 0.0, 1.0], toward));
        let up = cross(toward, right);
        let (mut min, mut max) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
        for &p in points {
            for (axis, value) in [dot(p, right), dot(p, up), dot(p, toward)].into_iter().enumerate()
            {
                min[axis] = min[axis].min(value);
                max[axis] = max[axis].max(value);
            }
        }
        let extent = (max[0] - min[0]).max(max[1] - min[1]).max(1e-6);
        let scale = SIDE as f32 * (1.0 - 2.0 * MARGIN) / extent;
        // A flat model still gets a depth range.
        let far = min[2] - 1e-3 * extent;
        let near = max[2] + 1e-3 * extent;
        let light = normalize([
            0.7 * toward[0] + 0.6 * up[0] - 0.35 * right[0],
            0.7 * toward[1] + 0.6 * up[1] - 0.35 * right[1],
            0.7 * toward[2] + 0.6 * up[2] - 0.35 * right[2],
        ]);
        Self {
            right: four(right, 0.0),
            up: four(up, 0.0),
            toward: four(toward, 0.0),
            frame: [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0, scale, SIDE as f32],
            depth: [near, far, 0.0, 0.0],
            light: four(light, 0.0),
            base: [0.80, 0.82, 0.86, 0.3],
        }
    }
}

/// The triangles of a heightfield's mesh, from its thickness map sampled down to at most
/// [`MAX_CELLS`] cells on its long side.
pub fn heightfield_triangles(hf: &Heightfield) -> Vec<Shaded> {
    let step = (hf.width.max(hf.height) - 1).div_ceil(MAX_CELLS).max(1);
    let coarse = if step == 1 { None } else { Some(sample(hf, step)) };
    let hf = coarse.as_ref().unwrap_or(hf);
    let mut triangles = Vec::new();
    if let Some(bend) = hf.bend {
        crate::mesh::Curved::new(hf, bend).each_triangle(&mut |t| {
            triangles.push(Shaded { corners: t.vertices, normal: t.normal });
        });
        return triangles;
    }
    for y in 0..hf.height - 1 {
        for x in 0..hf.width - 1 {
            if !hf.cells.is_solid(x.into(), y.into()) {
                continue;
            }
            let at = |dx, dy| hf.position(Corner::top((x + dx, y + dy)));
            let (a, b, c, d) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
            triangles.push(Shaded::new([a, c, d]));
            triangles.push(Shaded::new([a, d, b]));
        }
    }
    crate::mesh::rim(hf, &mut |face| {
        triangles.push(Shaded::new(face.corners.map(|c| hf.position(c))));
    });
    triangles
}

/// `hf` with every `step`-th grid point: a point is inside where a cell around it was solid.
fn sample(hf: &Heightfield, step: u32) -> Heightfield {
    let (w, h) = ((hf.width - 1) / step + 1, (hf.height - 1) / step + 1);
    let mut thickness = Vec::with_capacity((w * h) as usize);
    let mut inside = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = (x * step, y * step);
            thickness.push(hf.thickness_at(sx, sy));
            let (sx, sy) = (i64::from(sx), i64::from(sy));
            let solid = [(sx - 1, sy - 1), (sx, sy - 1), (sx - 1, sy), (sx, sy)]
                .iter()
                .any(|&(cx, cy)| hf.cells.is_solid(cx, cy));
            inside.push(u32::from(solid));
        }
    }
    Heightfield {
        width: w,
        height: h,
        pitch_mm: hf.pitch_mm * step as f32,
        thickness,
        cells: Cells::from_inside(&inside, w, h),
        bend: hf.bend.map(|bend| bend.sampled(step, h)),
        surface: None,
        columns: None,
    }
}

/// The triangles of an indexed mesh.
pub fn mesh_triangles(mesh: &IndexedMesh) -> Vec<Shaded> {
    mesh.triangles.iter().map(|t| Shaded::new(t.map(|v| mesh.positions[v as usize]))).collect()
}

/// Renders `triangles` on `backend`, framed to fit.
pub(crate) fn render(backend: &Backend, triangles: &[Shaded]) -> Result<RgbaImage> {
    if triangles.is_empty() {
        return Err(EngineError::EmptySurface);
    }
    let config = ThumbnailConfig::framing(triangles.iter().flat_map(|t| &t.corners));
    let pixels = backend.thumbnail(&config, triangles, SIDE)?;
    Ok(RgbaImage::from_raw(SIDE, SIDE, pixels).expect("side x side RGBA pixels"))
}

/// `image` as PNG bytes, compressed for speed.
pub fn png(image: &RgbaImage) -> Vec<u8> {
    encode_png(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::Rgba8)
}

/// `width` x `height` pixels of `colour` as PNG bytes, compressed for speed: the thumbnail's
/// and the backlit view's encoder.
pub(crate) fn encode_png(
    raw: &[u8],
    width: u32,
    height: u32,
    colour: image::ExtendedColorType,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut bytes,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Sub,
    );
    image::ImageEncoder::write_image(encoder, raw, width, height, colour)
        .expect("encoding into memory cannot fail");
    bytes
}
