//! Printability checks for a triangle mesh: closed, manifold and consistently wound, with its
//! volume, area, bounds, connected components and Euler characteristic.
//!
//! Vertices are welded by exact position, as a slicer does. The mesh is closed and manifold when
//! every directed edge appears once and its reverse appears once: each edge is then shared by
//! exactly two triangles with opposite orientation.

use std::collections::HashMap;
use std::io::{Read, Seek};

/// What [`inspect`] found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MeshReport {
    pub triangles: usize,
    pub vertices: usize,
    /// Undirected edges.
    pub edges: usize,
    /// Directed edges with no reverse: holes, or neighbours wound the other way.
    pub open_edges: usize,
    /// Directed edges used by more than one triangle: non-manifold or flipped faces.
    pub repeated_edges: usize,
    /// Triangles with zero area or a repeated vertex.
    pub degenerate: usize,
    /// Connected pieces, joined through shared vertices.
    pub components: usize,
    /// V - E + F: 2 per closed piece of genus 0, minus 2 per handle.
    pub euler: i64,
    /// Signed volume in cubic millimetres; positive when normals point out.
    pub volume: f64,
    /// Surface area in square millimetres.
    pub area: f64,
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl MeshReport {
    pub fn is_closed_manifold(&self) -> bool {
        self.triangles > 0
            && self.open_edges == 0
            && self.repeated_edges == 0
            && self.degenerate == 0
    }
}

/// Inspects triangles given as three corners each.
pub fn inspect(triangles: impl IntoIterator<Item = [[f32; 3]; 3]>) -> MeshReport {
    let mut index: HashMap<[u32; 3], u32> = HashMap::new();
    let mut faces: Vec<[u32; 3]> = Vec::new();
    let (mut volume, mut area) = (0.0f64, 0.0f64);
    let (mut min, mut max) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    let mut degenerate = 0;
    for corners in triangles {
        let mut face = [0u32; 3];
        for (slot, p) in face.iter_mut().zip(&corners) {
            let next = index.len() as u32;
            *slot = *index.entry(p.map(f32::to_bits)).or_insert(next);
            for k in 0..3 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        let [a, b, c] = corners.map(|p| p.map(f64::from));
        let (u, v) = (sub(b, a), sub(c, a));
        let n = cross(u, v);
        let twice_area = dot(n, n).sqrt();
        if twice_area == 0.0 || face[0] == face[1] || face[1] == face[2] || face[0] == face[2] {
            degenerate += 1;
        }
        area += twice_area / 2.0;
        volume += dot(a, cross(b, c)) / 6.0;
        faces.push(face);
    }

    let mut directed: HashMap<(u32, u32), u32> = HashMap::with_capacity(faces.len() * 3);
    for f in &faces {
        for (p, q) in [(f[0], f[1]), (f[1], f[2]), (f[2], f[0])] {
            *directed.entry((p, q)).or_insert(0) += 1;
        }
    }
    let open_edges = directed.keys().filter(|&&(p, q)| !directed.contains_key(&(q, p))).count();
    let repeated_edges = directed.values().filter(|&&n| n > 1).count();
    let mut undirected: Vec<(u32, u32)> =
        directed.keys().map(|&(p, q)| (p.min(q), p.max(q))).collect();
    undirected.sort_unstable();
    undirected.dedup();

    let mut parent: Vec<u32> = (0..index.len() as u32).collect();
    fn root(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    for &(p, q) in &undirected {
        let (rp, rq) = (root(&mut parent, p), root(&mut parent, q));
        if rp != rq {
            parent[rp as usize] = rq;
        }
    }
    let components = (0..index.len() as u32).filter(|&v| root(&mut parent, v) == v).count();
    let (v, e, f) = (index.len() as i64, undirected.len() as i64, faces.len() as i64);
    MeshReport {
        triangles: faces.len(),
        vertices: index.len(),
        edges: undirected.len(),
        open_edges,
        repeated_edges,
        degenerate,
        components,
        euler: v - e + f,
        volume,
        area,
        min,
        max,
    }
}

/// Inspects a binary or ASCII STL file.
pub fn inspect_stl<R: Read + Seek>(mut reader: R) -> std::io::Result<MeshReport> {
    let triangles = stl_io::create_stl_reader(&mut reader)?
        .map(|t| t.map(|t| t.vertices.map(|v| v.0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(inspect(triangles))
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// How far a mesh's top surface lies from a height grid, found by rasterising it back onto
/// the grid: see [`height_deviation`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Deviation {
    /// The largest vertical distance, in millimetres, between a grid point's height and the
    /// surface above it.
    pub max_mm: f64,
    /// Grid points that should lie under the surface and lie under no up-facing triangle.
    pub uncovered: u64,
}

/// Rasterises the up-facing triangles of a mesh onto a `width` x `height` grid of `pitch_mm`
/// (grid row `y` at `(height - 1 - y) * pitch_mm`, as the engine places it), interpolating
/// linearly inside each, and compares every grid point where `covered` says the surface
/// should be with `heights` (row-major). A point on a shared edge is compared with each
/// triangle it touches; positions are taken as written, float rounding and all.
pub fn height_deviation(
    width: u32,
    height: u32,
    pitch_mm: f64,
    heights: &[f32],
    covered: impl Fn(u32, u32) -> bool,
    triangles: impl IntoIterator<Item = [[f32; 3]; 3]>,
) -> Deviation {
    // Slack for points on edges, in grid steps: positions are float32 millimetres, and a
    // 4096-point grid's far side is off by up to 3e-4 steps.
    const EDGE: f64 = 1e-3;
    let (w, h) = (width as usize, height as usize);
    let mut hit = vec![false; w * h];
    let mut max_mm = 0.0f64;
    for t in triangles {
        let g = t.map(|v| {
            [
                f64::from(v[0]) / pitch_mm,
                f64::from(height - 1) - f64::from(v[1]) / pitch_mm,
                f64::from(v[2]),
            ]
        });
        // Up-facing: counter-clockwise seen from above, that is clockwise in grid rows.
        let area =
            (g[1][0] - g[0][0]) * (g[2][1] - g[0][1]) - (g[1][1] - g[0][1]) * (g[2][0] - g[0][0]);
        if area >= -1e-9 {
            continue;
        }
        let lo = |k: usize| g.iter().map(|p| p[k]).fold(f64::INFINITY, f64::min);
        let hi = |k: usize| g.iter().map(|p| p[k]).fold(f64::NEG_INFINITY, f64::max);
        let (x0, x1) = ((lo(0) - EDGE).ceil().max(0.0), (hi(0) + EDGE).floor().min((w - 1) as f64));
        let (y0, y1) = ((lo(1) - EDGE).ceil().max(0.0), (hi(1) + EDGE).floor().min((h - 1) as f64));
        let mut y = y0;
        while y <= y1 {
            let mut x = x0;
            while x <= x1 {
                let edge = |a: [f64; 3], b: [f64; 3]| {
                    ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])) / area
                };
                let (l0, l1, l2) = (edge(g[1], g[2]), edge(g[2], g[0]), edge(g[0], g[1]));
                // Within EDGE of each edge: a coordinate is l times twice the area over the
                // edge's length.
                let near = |l: f64, a: [f64; 3], b: [f64; 3]| {
                    l * area.abs() >= -EDGE * (b[0] - a[0]).hypot(b[1] - a[1])
                };
                if near(l0, g[1], g[2]) && near(l1, g[2], g[0]) && near(l2, g[0], g[1]) {
                    let z = (l0 * g[0][2] + l1 * g[1][2] + l2 * g[2][2]) / (l0 + l1 + l2);
                    let i = y as usize * w + x as usize;
                    max_mm = max_mm.max((z - f64::from(heights[i])).abs());
                    hit[i] = true;
                }
                x += 1.0;
            }
            y += 1.0;
        }
    }
    let mut uncovered = 0;
    for y in 0..height {
        for x in 0..width {
            if covered(x, y) && !hit[y as usize * w + x as usize] {
                uncovered += 1;
            }
        }
    }
    Deviation { max_mm, uncovered }
}
