//! GLB: glTF 2.0 in one binary file, for the web and for viewers. One mesh with one
//! triangle primitive (positions, normals and 32-bit indices; the parts one after another).
//!
//! glTF measures in metres with +Y up, and Lithos in millimetres with +Z up (the print bed's
//! up): a point `(x, y, z)` is written as `(x, z, -y) / 1000`, a rotation, so winding and
//! outward normals keep their meaning. The accessors' `min` and `max`, which glTF requires
//! for positions, come from each part's extent through the same exact (monotonic) mapping.

use std::io::{self, Write};

use serde_json::json;

use super::{Meta, Parts};

const GLB_MAGIC: &[u8; 4] = b"glTF";
const JSON_CHUNK: u32 = 0x4E4F_534A;
const BIN_CHUNK: u32 = 0x004E_4942;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;
const FLOAT: u32 = 5126;
const UNSIGNED_INT: u32 = 5125;

/// The glTF point of a point in millimetres.
fn to_gltf(p: [f32; 3]) -> [f32; 3] {
    [p[0] * 0.001, p[2] * 0.001, -(p[1] * 0.001)]
}

/// The glTF direction of a direction, as a unit vector.
fn to_gltf_normal(n: [f32; 3]) -> [f32; 3] {
    let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if length > 0.0 && length.is_finite() {
        [n[0] / length, n[2] / length, -n[1] / length]
    } else {
        [0.0, 1.0, 0.0]
    }
}

pub fn write(parts: &dyn Parts, meta: &Meta, out: &mut impl Write) -> io::Result<()> {
    let sizes = parts.sizes();
    let vertices: u64 = sizes.iter().map(|s| s.vertices).sum();
    let triangles: u64 = sizes.iter().map(|s| s.triangles).sum();
    let (mut lo, mut hi) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for s in sizes {
        for k in 0..3 {
            lo[k] = lo[k].min(s.min[k]);
            hi[k] = hi[k].max(s.max[k]);
        }
    }
    let min = [lo[0] * 0.001, lo[2] * 0.001, -(hi[1] * 0.001)];
    let max = [hi[0] * 0.001, hi[2] * 0.001, -(lo[1] * 0.001)];
    let vertex_bytes = vertices * 12;
    let index_bytes = triangles * 12;
    let bin_length = 2 * vertex_bytes + index_bytes;
    if vertices > u64::from(u32::MAX) || bin_length + 4096 > u64::from(u32::MAX) {
        return Err(io::Error::other(
            "the mesh is larger than a GLB file can hold (4 GiB); write 3MF or PLY instead",
        ));
    }
    let mut asset =
        json!({ "version": "2.0", "generator": concat!("Lithos ", env!("CARGO_PKG_VERSION")) });
    if !meta.title.is_empty() {
        asset["extras"] = json!({ "title": meta.title });
    }
    let document = json!({
        "asset": asset,
        "scene": 0,
        "scenes": [{ "nodes": [0] }],
        "nodes": [{ "mesh": 0 }],
        "meshes": [{ "primitives": [{
            "attributes": { "POSITION": 0, "NORMAL": 1 },
            "indices": 2,
            "mode": 4,
        }] }],
        "buffers": [{ "byteLength": bin_length }],
        "bufferViews": [
            { "buffer": 0, "byteOffset": 0, "byteLength": vertex_bytes, "target": ARRAY_BUFFER },
            { "buffer": 0, "byteOffset": vertex_bytes, "byteLength": vertex_bytes, "target": ARRAY_BUFFER },
            { "buffer": 0, "byteOffset": 2 * vertex_bytes, "byteLength": index_bytes, "target": ELEMENT_ARRAY_BUFFER },
        ],
        "accessors": [
            { "bufferView": 0, "componentType": FLOAT, "count": vertices, "type": "VEC3", "min": min, "max": max },
            { "bufferView": 1, "componentType": FLOAT, "count": vertices, "type": "VEC3" },
            { "bufferView": 2, "componentType": UNSIGNED_INT, "count": triangles * 3, "type": "SCALAR" },
        ],
    });
    let mut json = serde_json::to_vec(&document).map_err(io::Error::other)?;
    while json.len() % 4 != 0 {
        json.push(b' ');
    }
    // The binary chunk is a multiple of 4 already: every element is 4 bytes.
    let total = 12 + 8 + json.len() as u64 + 8 + bin_length;
    out.write_all(GLB_MAGIC)?;
    out.write_all(&2u32.to_le_bytes())?;
    out.write_all(&(total as u32).to_le_bytes())?;
    out.write_all(&(json.len() as u32).to_le_bytes())?;
    out.write_all(&JSON_CHUNK.to_le_bytes())?;
    out.write_all(&json)?;
    out.write_all(&(bin_length as u32).to_le_bytes())?;
    out.write_all(&BIN_CHUNK.to_le_bytes())?;
    let floats = |out: &mut dyn Write, v: [f32; 3]| -> io::Result<()> {
        let mut bytes = [0u8; 12];
        for (k, f) in v.iter().enumerate() {
            bytes[k * 4..k * 4 + 4].copy_from_slice(&f.to_le_bytes());
        }
        out.write_all(&bytes)
    };
    for part in 0..sizes.len() {
        parts.vertices(part, &mut |p, _| floats(out, to_gltf(p)))?;
    }
    for part in 0..sizes.len() {
        parts.vertices(part, &mut |_, n| floats(out, to_gltf_normal(n)))?;
    }
    let mut base = 0u32;
    for (part, size) in sizes.iter().enumerate() {
        parts.triangles(part, &mut |t| {
            let mut bytes = [0u8; 12];
            for (k, v) in t.iter().enumerate() {
                bytes[k * 4..k * 4 + 4].copy_from_slice(&(base + v).to_le_bytes());
            }
            out.write_all(&bytes)
        })?;
        base += size.vertices as u32;
    }
    Ok(())
}
