//! Writers for indexed meshes: binary and ASCII STL, binary PLY and OBJ, the last two keeping
//! the shared vertices and their normals. Files go through [`write_file_atomically`].
//!
//! [`write_file_atomically`]: crate::stl::write_file_atomically

use std::io::{self, BufWriter, Write};

use crate::isosurface::IndexedMesh;
use crate::stl::{MeshFormat, MeshStats};

/// Writes `mesh` to `out` in `format`.
pub fn write_indexed<W: Write>(
    mesh: &IndexedMesh,
    format: MeshFormat,
    out: W,
) -> io::Result<MeshStats> {
    let mut out = Counting { inner: BufWriter::with_capacity(1 << 20, out), bytes: 0 };
    match format {
        MeshFormat::Stl => stl_binary(mesh, &mut out)?,
        MeshFormat::StlAscii => stl_ascii(mesh, &mut out)?,
        MeshFormat::Ply => ply(mesh, &mut out)?,
        MeshFormat::Obj => obj(mesh, &mut out)?,
    }
    out.flush()?;
    Ok(MeshStats { triangles: mesh.triangle_count(), bytes: out.bytes })
}

struct Counting<W: Write> {
    inner: W,
    bytes: u64,
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

/// The unit normal of a triangle from its corners (zero for a degenerate one).
pub fn face_normal(mesh: &IndexedMesh, t: [u32; 3]) -> [f32; 3] {
    let [a, b, c] = t.map(|v| mesh.positions[v as usize]);
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

fn ply(mesh: &IndexedMesh, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "ply\nformat binary_little_endian 1.0\ncomment written by Lithos, millimetres\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
         property float nx\nproperty float ny\nproperty float nz\n\
         element face {}\nproperty list uchar uint vertex_indices\nend_header\n",
        mesh.positions.len(),
        mesh.triangles.len()
    )?;
    let mut vertex = [0u8; 24];
    for (p, n) in mesh.positions.iter().zip(&mesh.normals) {
        for (k, f) in p.iter().chain(n).enumerate() {
            vertex[k * 4..k * 4 + 4].copy_from_slice(&f.to_le_bytes());
        }
        out.write_all(&vertex)?;
    }
    let mut face = [3u8; 13];
    for t in &mesh.triangles {
        for (k, v) in t.iter().enumerate() {
            face[1 + k * 4..5 + k * 4].copy_from_slice(&v.to_le_bytes());
        }
        out.write_all(&face)?;
    }
    Ok(())
}

fn obj(mesh: &IndexedMesh, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "# written by Lithos, millimetres")?;
    for [x, y, z] in &mesh.positions {
        writeln!(out, "v {x} {y} {z}")?;
    }
    for [x, y, z] in &mesh.normals {
        writeln!(out, "vn {x} {y} {z}")?;
    }
    for t in &mesh.triangles {
        let [a, b, c] = t.map(|v| u64::from(v) + 1);
        writeln!(out, "f {a}//{a} {b}//{b} {c}//{c}")?;
    }
    Ok(())
}
