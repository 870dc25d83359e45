//! From a thickness map to one closed, outward-wound triangle mesh, streamed as STL records.
//!
//! The mesh is the top surface (two triangles per solid cell, from the `top_surface` kernel),
//! vertical walls along the outline (`walls.rs`) and a flat floor (`bottom.rs`). They share every
//! edge exactly: the walls' top edges are the surface's border edges, and the floor's points
//! include every wall's foot. Each connected region of cells closes into one manifold.

pub mod adaptive;
mod bottom;
mod cells;
mod curved;
mod dome;
mod indexed;
mod walls;

pub use adaptive::{Columns, Surface};
pub use cells::Cells;
pub(crate) use curved::Curved;
pub use curved::{Bend, Feet, Socket};
pub use dome::Dome;
pub(crate) use indexed::IndexedHeightfield;

use crate::backend::Backend;
use crate::error::Result;
use crate::export::Parts;
use crate::kernels::{BYTES_PER_CELL, SurfaceConfig};
use crate::progress::Progress;
use crate::stages::rows_per_band;
use crate::stl::{Feed, RECORD_BYTES};

/// A thickness map on a vertex grid, ready to mesh.
#[derive(Clone, Debug)]
pub struct Heightfield {
    /// Vertices per row.
    pub width: u32,
    /// Rows of vertices.
    pub height: u32,
    /// Distance between neighbouring vertices, in millimetres.
    pub pitch_mm: f32,
    /// Millimetres of material at each vertex, row-major.
    pub thickness: Vec<f32>,
    /// Which cells between the vertices are solid.
    pub cells: Cells,
    /// How the panel is bent ([`Bend`]); `None` for a flat one.
    pub bend: Option<Bend>,
    /// A flat panel's adaptive top surface; `None` for two triangles per solid cell.
    pub surface: Option<Surface>,
    /// A bent panel's adaptive sides, column by column; `None` for every grid point.
    pub columns: Option<Columns>,
}

impl Heightfield {
    /// Position of grid vertex `(x, y)` at height `z`, computed exactly as the kernels do: grid
    /// row `y` lies at `(height - 1 - y) * pitch` so the model is not mirrored.
    pub fn vertex(&self, x: u32, y: u32, z: f32) -> [f32; 3] {
        [x as f32 * self.pitch_mm, (self.height - 1 - y) as f32 * self.pitch_mm, z]
    }

    pub fn thickness_at(&self, x: u32, y: u32) -> f32 {
        self.thickness[y as usize * self.width as usize + x as usize]
    }

    /// Triangles in the finished mesh.
    pub fn triangle_count(&self) -> u64 {
        if let Some(bend) = self.bend {
            return Curved::new(self, bend).triangles();
        }
        let mut count = match &self.surface {
            Some(surface) => surface.triangles.len() as u64,
            None => 2 * self.cells.solid_count(),
        };
        walls::emit(self, &mut |_| count += 1);
        bottom::emit(self, &mut |_| count += 1);
        count
    }

    /// Model size in millimetres: width, depth and the thickest point (a curved panel's
    /// bounding box; a masked or outlined one's, of its solid cells).
    pub fn size_mm(&self) -> [f32; 3] {
        if let Some(bend) = self.bend {
            let size = Curved::new(self, bend).sizes()[0];
            return [0, 1, 2].map(|k| size.max[k] - size.min[k]);
        }
        // An adaptive surface may leave out the thickest point, within its bound.
        let surface_top = |fallback: f32| match &self.surface {
            Some(surface) => surface.thickest(self),
            None => fallback,
        };
        let Cells::Masked { width, solid, .. } = &self.cells else {
            let top = surface_top(self.thickness.iter().copied().fold(0.0, f32::max));
            let p = self.pitch_mm;
            return [(self.width - 1) as f32 * p, (self.height - 1) as f32 * p, top];
        };
        // The solid cells' box, and the thickest of their corners.
        let (mut lo, mut hi, mut top) = ([u32::MAX; 2], [0u32; 2], 0.0f32);
        for (i, _) in solid.iter().enumerate().filter(|(_, s)| **s != 0) {
            let (x, y) = (i as u32 % width, i as u32 / width);
            lo = [lo[0].min(x), lo[1].min(y)];
            hi = [hi[0].max(x + 1), hi[1].max(y + 1)];
            for (cx, cy) in [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)] {
                top = top.max(self.thickness_at(cx, cy));
            }
        }
        if lo[0] > hi[0] {
            return [0.0; 3];
        }
        let top = surface_top(top);
        [(hi[0] - lo[0]) as f32 * self.pitch_mm, (hi[1] - lo[1]) as f32 * self.pitch_mm, top]
    }
}

/// A vertex of a heightfield's mesh: grid point `(x, y)` on the top surface or on the floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Corner {
    pub x: u32,
    pub y: u32,
    pub top: bool,
}

impl Corner {
    pub fn top((x, y): (u32, u32)) -> Self {
        Self { x, y, top: true }
    }

    pub fn floor((x, y): (u32, u32)) -> Self {
        Self { x, y, top: false }
    }
}

/// A wall or floor triangle, by its corners, with its face normal and the solid cell it
/// closes (which names its region).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Face {
    pub corners: [Corner; 3],
    pub normal: [f32; 3],
    pub cell: (u32, u32),
}

impl Heightfield {
    /// Where `corner` lies, in millimetres.
    pub(crate) fn position(&self, corner: Corner) -> [f32; 3] {
        let z = if corner.top { self.thickness_at(corner.x, corner.y) } else { 0.0 };
        self.vertex(corner.x, corner.y, z)
    }
}

/// One triangle with its face normal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Triangle {
    pub normal: [f32; 3],
    pub vertices: [[f32; 3]; 3],
}

impl Triangle {
    /// Appends the 50-byte binary STL record.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for v in std::iter::once(&self.normal).chain(&self.vertices) {
            for c in v {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
}

/// Intervals covered by exactly one of two sorted lists of disjoint runs `[a, b)`.
pub(crate) fn runs_xor(a: &[(u32, u32)], b: &[(u32, u32)], out: &mut Vec<(u32, u32)>) {
    out.clear();
    let mut points: Vec<u32> = a.iter().chain(b).flat_map(|&(s, e)| [s, e]).collect();
    points.sort_unstable();
    points.dedup();
    let covers = |runs: &[(u32, u32)], idx: &mut usize, p: u32| {
        while *idx < runs.len() && runs[*idx].1 <= p {
            *idx += 1;
        }
        *idx < runs.len() && runs[*idx].0 <= p
    };
    let (mut ia, mut ib) = (0, 0);
    for pair in points.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        if covers(a, &mut ia, p) != covers(b, &mut ib, p) {
            match out.last_mut() {
                Some(last) if last.1 == p => last.1 = q,
                _ => out.push((p, q)),
            }
        }
    }
}

/// Every face of `hf`'s mesh but the top surface: its walls, then its floor.
pub(crate) fn rim(hf: &Heightfield, emit: &mut impl FnMut(&Face)) {
    walls::emit(hf, emit);
    bottom::emit(hf, emit);
}

/// Streams the mesh of `hf` into `feed`: the top surface band by band, then walls and floor.
pub(crate) fn stream(
    backend: &Backend,
    hf: &Heightfield,
    feed: &mut Feed,
    progress: &dyn Progress,
) -> Result<()> {
    if let Some(surface) = &hf.surface {
        return stream_faces(hf, feed, &mut |push| {
            let w = hf.width;
            let corner = |g: u32| hf.position(Corner::top((g % w, g / w)));
            for t in &surface.triangles {
                let vertices = t.map(corner);
                push(&Triangle { normal: crate::export::unit_normal(vertices), vertices });
            }
        });
    }
    let (w, h) = (hf.width, hf.height);
    let cells_per_row = u64::from(w - 1);
    let row_bytes = cells_per_row * BYTES_PER_CELL as u64;
    let budget = backend.streaming_band_bytes().min(backend.band_bytes());
    // The output binding is the largest: 100 bytes per cell against 4 per vertex of input.
    let rows = rows_per_band(backend, budget, h - 1, row_bytes, 0, cells_per_row)?;
    let total_rows = u64::from(h - 1);
    for row0 in (0..h - 1).step_by(rows as usize) {
        progress.check_canceled()?;
        let band = rows.min(h - 1 - row0);
        let config = SurfaceConfig {
            count: band * (w - 1),
            width: w,
            height: h,
            row0,
            pitch_mm: hf.pitch_mm,
            ..Default::default()
        };
        let thickness = &hf.thickness[(row0 * w) as usize..((row0 + band + 1) * w) as usize];
        let mut records = feed.buffer();
        records.resize(config.count as usize * BYTES_PER_CELL, 0);
        backend.top_surface(&config, thickness, &mut records)?;
        hf.cells.compact_band(row0, band, &mut records);
        feed.send(records)?;
        progress.advance(u64::from(row0 + band) as f64 / total_rows as f64);
    }
    stream_faces(hf, feed, &mut |_| {})
}

/// Something that gives triangles, one at a time, to the function it is handed.
pub(crate) type Triangles<'a> = dyn FnMut(&mut dyn FnMut(&Triangle)) + 'a;

/// Streams the triangles `top` gives, then `hf`'s walls and floor.
fn stream_faces(hf: &Heightfield, feed: &mut Feed, top: &mut Triangles<'_>) -> Result<()> {
    stream_triangles(feed, &mut |push| {
        top(push);
        let mut face = |f: &Face| {
            push(&Triangle { normal: f.normal, vertices: f.corners.map(|c| hf.position(c)) });
        };
        walls::emit(hf, &mut face);
        bottom::emit(hf, &mut face);
    })
}

/// Streams every triangle `each` gives as STL records, in buffers of about 4 MB.
pub(crate) fn stream_triangles(feed: &mut Feed, each: &mut Triangles<'_>) -> Result<()> {
    let mut records = feed.buffer();
    records.clear();
    let mut failed = None;
    each(&mut |t: &Triangle| {
        t.encode(&mut records);
        if records.len() >= (4 << 20) - RECORD_BYTES && failed.is_none() {
            let full = std::mem::replace(&mut records, feed.buffer());
            if let Err(e) = feed.send(full) {
                failed = Some(e);
            }
            records.clear();
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    feed.send(records)
}

#[cfg(test)]
mod tests {
    use super::runs_xor;

    #[test]
    fn xor_of_runs_is_where_exactly_one_row_is_solid() {
        let mut out = Vec::new();
        runs_xor(&[(0, 5), (8, 10)], &[(3, 9)], &mut out);
        assert_eq!(out, [(0, 3), (5, 8), (9, 10)]);
        runs_xor(&[(2, 4)], &[(2, 4)], &mut out);
        assert_eq!(out, []);
        runs_xor(&[], &[(1, 2), (2, 3)], &mut out);
        assert_eq!(out, [(1, 3)], "touching runs merge");
    }
}
