//! STL, binary and ASCII, through `stl_io`. Each triangle keeps its own three corners: STL has
//! no shared vertices.

use std::io::Cursor;

use super::{Model, ModelFormat, ModelLimits, check_triangles, corrupt};
use crate::error::Result;

/// Whether `bytes` are a binary STL: an 80-byte header, a count, and exactly 50 bytes a
/// triangle after it.
pub(super) fn is_binary(bytes: &[u8]) -> bool {
    bytes.len() >= 84 && {
        let count = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]);
        84 + 50 * u64::from(count) == bytes.len() as u64
    }
}

pub(super) fn read(bytes: &[u8], limits: ModelLimits) -> Result<Model> {
    let text = bytes.trim_ascii_start().starts_with(b"solid");
    if is_binary(bytes) {
        let count = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]);
        check_triangles(count.into(), limits)?;
    } else if !text {
        let count = bytes.get(80..84).map_or(0, |c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        return Err(corrupt(
            ModelFormat::Stl,
            format!(
                "a binary STL of {count} triangles takes {} bytes, but the file has {}; it may \
                 have been cut short",
                84 + 50 * u64::from(count),
                bytes.len()
            ),
        ));
    }
    let mut cursor = Cursor::new(bytes);
    let reader = stl_io::create_stl_reader(&mut cursor)
        .map_err(|e| corrupt(ModelFormat::Stl, e.to_string()))?;
    let mut model = Model::default();
    for (i, triangle) in reader.enumerate() {
        let triangle =
            triangle.map_err(|e| corrupt(ModelFormat::Stl, format!("triangle {i}: {e}")))?;
        check_triangles(i as u64 + 1, limits)?;
        let base = model.positions.len() as u32;
        model.positions.extend(triangle.vertices.map(|v| v.0));
        model.triangles.push([base, base + 1, base + 2]);
    }
    Ok(model)
}
