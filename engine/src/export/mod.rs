//! Writers for meshes with shared vertices: PLY, OBJ, 3MF and GLB, fed part by part from
//! [`Parts`] (an [`IndexedMesh`] split into its closed shells, or a heightfield's regions,
//! streamed without a copy of the mesh), and binary and ASCII STL for indexed meshes. Files go
//! through [`write_file_atomically`].
//!
//! [`write_file_atomically`]: crate::stl::write_file_atomically

mod glb;
mod parts;
mod threemf;

use std::io::{self, BufWriter, Write};

pub use parts::{MeshParts, PartSize, Parts};

use crate::isosurface::IndexedMesh;
use crate::stl::{MeshFormat, MeshStats};

/// What a file says about itself where its format has room (3MF's metadata, glTF's asset).
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// The model's title.
    pub title: String,
    /// A PNG shown by file browsers and slicers (3MF's `Metadata/thumbnail.png`).
    pub thumbnail: Option<Vec<u8>>,
    /// Filament changes by height, bottom up (a 3MF's slicer metadata).
    pub colour_changes: Vec<ColourChange>,
}

/// A pause to change filament before the layer whose top is at `z_mm`.
#[derive(Clone, Debug, PartialEq)]
pub struct ColourChange {
    /// The top of the first layer printed in the new filament (PrusaSlicer's `print_z`,
    /// Bambu Studio's `top_z`).
    pub z_mm: f64,
    /// `#rrggbb`.
    pub colour: String,
}

/// Writes `mesh` to `out` in `format`.
pub fn write_indexed<W: Write>(
    mesh: &IndexedMesh,
    format: MeshFormat,
    out: W,
) -> io::Result<MeshStats> {
    write_indexed_with(mesh, format, &Meta::default(), out)
}

/// Writes `mesh` to `out` in `format`, with `meta` where the format keeps it.
pub fn write_indexed_with<W: Write>(
    mesh: &IndexedMesh,
    format: MeshFormat,
    meta: &Meta,
    out: W,
) -> io::Result<MeshStats> {
    match format {
        MeshFormat::Stl | MeshFormat::StlAscii => {
            let mut out = Counting::new(out);
            if format == MeshFormat::Stl {
                stl_binary(mesh, &mut out)?;
            } else {
                stl_ascii(mesh, &mut out)?;
            }
            out.flush()?;
            Ok(MeshStats { triangles: mesh.triangle_count(), bytes: out.bytes })
        }
        _ => write_parts(&MeshParts::new(mesh), format, meta, out),
    }
}

/// Writes `parts` to `out` in `format`, which must keep shared vertices (not STL).
pub fn write_parts<W: Write>(
    parts: &dyn Parts,
    format: MeshFormat,
    meta: &Meta,
    out: W,
) -> io::Result<MeshStats> {
    let triangles = parts.sizes().iter().map(|s| s.triangles).sum();
    let bytes = match format {
        MeshFormat::Ply => {
            let mut out = Counting::new(out);
            ply(parts, &mut out)?;
            out.flush()?;
            out.bytes
        }
        MeshFormat::Obj => {
            let mut out = Counting::new(out);
            obj(parts, &mut out)?;
            out.flush()?;
            out.bytes
        }
        MeshFormat::ThreeMf => threemf::write(parts, meta, out)?,
        MeshFormat::Glb => {
            let mut out = Counting::new(out);
            glb::write(parts, meta, &mut out)?;
            out.flush()?;
            out.bytes
        }
        MeshFormat::Stl | MeshFormat::StlAscii => {
            return Err(io::Error::other("STL is written from triangles, not from parts"));
        }
    };
    Ok(MeshStats { triangles, bytes })
}

/// A buffered writer that counts what it writes.
pub(crate) struct Counting<W: Write> {
    inner: BufWriter<W>,
    pub bytes: u64,
}

impl<W: Write> Counting<W> {
    pub fn new(out: W) -> Self {
        Self { inner: BufWriter::with_capacity(1 << 20, out), bytes: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The unit normal of triangle `t` of `mesh` (zero for a degenerate one).
pub fn face_normal(mesh: &IndexedMesh, t: [u32; 3]) -> [f32; 3] {
    unit_normal(t.map(|v| mesh.positions[v as usize]))
}

/// The unit normal of a triangle from its corners, counter-clockwise seen from where it
/// points (zero for a degenerate one).
pub fn unit_normal([a, b, c]: [[f32; 3]; 3]) -> [f32; 3] {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if length > 0.0 { n.map(|c| c / length) } else { [0.0; 3] }
}

fn too_many() -> io::Error {
    io::Error::other("binary STL holds at most 4294967295 triangles; write PLY or OBJ instead")
}

fn stl_binary(mesh: &IndexedMesh, out: &mut impl Write) -> io::Result<()> {
    let mut header = [b' '; 80];
    let text = b"Lithos binary STL, millimetres";
    header[..text.len()].copy_from_slice(text);
    out.write_all(&header)?;
    let count = u32::try_from(mesh.triangles.len()).map_err(|_| too_many())?;
    out.write_all(&count.to_le_bytes())?;
    let mut record = [0u8; 50];
    for &t in &mesh.triangles {
        let floats = std::iter::once(face_normal(mesh, t))
            .chain(t.map(|v| mesh.positions[v as usize]))
            .flatten();
        for (k, f) in floats.enumerate() {
            record[k * 4..k * 4 + 4].copy_from_slice(&f.to_le_bytes());
        }
        out.write_all(&record)?;
    }
    Ok(())
}

fn stl_ascii(mesh: &IndexedMesh, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "solid lithos")?;
    for &t in &mesh.triangles {
        let [nx, ny, nz] = face_normal(mesh, t);
        writeln!(out, "facet normal {nx} {ny} {nz}\n  outer loop")?;
        for v in t {
            let [x, y, z] = mesh.positions[v as usize];
            writeln!(out, "    vertex {x} {y} {z}")?;
        }
        writeln!(out, "  endloop\nendfacet")?;
    }
    writeln!(out, "endsolid lithos")
}

fn ply(parts: &dyn Parts, out: &mut impl Write) -> io::Result<()> {
    let sizes = parts.sizes();
    write!(
        out,
        "ply\nformat binary_little_endian 1.0\ncomment written by Lithos, millimetres\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
         property float nx\nproperty float ny\nproperty float nz\n\
         element face {}\nproperty list uchar uint vertex_indices\nend_header\n",
        sizes.iter().map(|s| s.vertices).sum::<u64>(),
        sizes.iter().map(|s| s.triangles).sum::<u64>(),
    )?;
    let mut vertex = [0u8; 24];
    for part in 0..sizes.len() {
        parts.vertices(part, &mut |p, n| {
            for (k, f) in p.iter().chain(&n).enumerate() {
                vertex[k * 4..k * 4 + 4].copy_from_slice(&f.to_le_bytes());
            }
            out.write_all(&vertex)
        })?;
    }
    let mut face = [3u8; 13];
    let mut base = 0u32;
    for (part, size) in sizes.iter().enumerate() {
        parts.triangles(part, &mut |t| {
            for (k, v) in t.iter().enumerate() {
                face[1 + k * 4..5 + k * 4].copy_from_slice(&(base + v).to_le_bytes());
            }
            out.write_all(&face)
        })?;
        base += size.vertices as u32;
    }
    Ok(())
}

fn obj(parts: &dyn Parts, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "# written by Lithos, millimetres")?;
    let mut base = 1u64;
    for (part, size) in parts.sizes().iter().enumerate() {
        if parts.sizes().len() > 1 {
            writeln!(out, "o part{}", part + 1)?;
        }
        parts.vertices(part, &mut |[x, y, z], [nx, ny, nz]| {
            writeln!(out, "v {x} {y} {z}\nvn {nx} {ny} {nz}")
        })?;
        parts.triangles(part, &mut |t| {
            let [a, b, c] = t.map(|v| base + u64::from(v));
            writeln!(out, "f {a}//{a} {b}//{b} {c}//{c}")
        })?;
        base += size.vertices;
    }
    Ok(())
}
