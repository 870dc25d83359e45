//! OFF (Geomview's Object File Format), ASCII: a header line, counts, vertices, then faces as
//! a corner count and the corners (any colour after them ignored). `#` starts a comment.

use super::{Faces, Model, ModelFormat, ModelLimits, check_triangles, corrupt};
use crate::error::Result;

pub(super) fn read(bytes: &[u8], limits: ModelLimits) -> Result<Model> {
    let bad = |reason: String| corrupt(ModelFormat::Off, reason);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| bad("not text: Lithos reads ASCII OFF files".into()))?;
    let mut lines =
        text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty());
    let header = lines.next().ok_or_else(|| bad("the file is empty".into()))?;
    if header.contains("BINARY") {
        return Err(bad("binary OFF is not read; save it as ASCII OFF".into()));
    }
    // The counts may follow the keyword on the same line.
    let mut words: Vec<&str> = header.split_whitespace().skip(1).collect();
    if words.is_empty() {
        words = lines.next().unwrap_or("").split_whitespace().collect();
    }
    let counts: Vec<u64> = words
        .iter()
        .map(|s| s.parse())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("the counts line is not numbers".into()))?;
    let [vertices, faces, ..] = counts[..] else {
        return Err(bad("the counts line needs vertices and faces".into()));
    };
    // Each face holds a triangle at least; each vertex takes at least 6 bytes of text.
    check_triangles(faces, limits)?;
    if vertices > bytes.len() as u64 / 6 + 1 {
        return Err(bad(format!("it declares {vertices} vertices, more than the file can hold")));
    }
    let mut model = Model { positions: Vec::with_capacity(vertices as usize), ..Model::default() };
    for i in 0..vertices {
        let line = lines.next().ok_or_else(|| bad(format!("it ends at vertex {i}")))?;
        let mut numbers = line.split_whitespace().map(str::parse::<f32>);
        let mut next = || numbers.next().and_then(|n| n.ok());
        match (next(), next(), next()) {
            (Some(x), Some(y), Some(z)) => model.positions.push([x, y, z]),
            _ => return Err(bad(format!("vertex {i} is not three numbers"))),
        }
    }
    let mut out = Faces::new(ModelFormat::Off, model.positions.len(), limits)?;
    let mut corners = Vec::new();
    for i in 0..faces {
        let line = lines.next().ok_or_else(|| bad(format!("it ends at face {i}")))?;
        let mut numbers = line.split_whitespace().map(str::parse::<u32>);
        let n = numbers.next().and_then(|n| n.ok()).ok_or_else(|| bad(format!("face {i}")))?;
        corners.clear();
        for _ in 0..n {
            let v = numbers.next().and_then(|v| v.ok());
            corners.push(v.ok_or_else(|| bad(format!("face {i} has fewer than {n} corners")))?);
        }
        out.polygon(&corners)?;
    }
    model.triangles = out.triangles;
    Ok(model)
}
