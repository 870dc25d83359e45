//! Wavefront OBJ through `tobj`: every object and group, polygons fanned into triangles.
//! Material libraries are not fetched (an upload has no files beside it).

use std::io::Cursor;

use super::{Faces, Model, ModelFormat, ModelLimits, check_triangles, corrupt};
use crate::error::Result;

pub(super) fn read(bytes: &[u8], limits: ModelLimits) -> Result<Model> {
    let options = tobj::LoadOptions { triangulate: false, ..Default::default() };
    let (models, _) = tobj::load_obj_buf(&mut Cursor::new(bytes), &options, |_| {
        Ok((Vec::new(), Default::default()))
    })
    .map_err(|e| corrupt(ModelFormat::Obj, e.to_string()))?;
    let mut model = Model::default();
    for part in models {
        let mesh = part.mesh;
        let base = model.positions.len() as u32;
        let positions = mesh.positions.chunks_exact(3).map(|p| [p[0], p[1], p[2]]);
        model.positions.extend(positions);
        let mut faces = Faces::new(ModelFormat::Obj, model.positions.len(), limits)?;
        faces.triangles = std::mem::take(&mut model.triangles);
        let mut start = 0usize;
        let arities: Vec<u32> = if mesh.face_arities.is_empty() {
            vec![3; mesh.indices.len() / 3]
        } else {
            mesh.face_arities
        };
        let mut corners = Vec::new();
        for n in arities {
            let end = start + n as usize;
            let Some(face) = mesh.indices.get(start..end) else {
                return Err(corrupt(
                    ModelFormat::Obj,
                    format!("{}: a face is cut short", part.name),
                ));
            };
            corners.clear();
            corners.extend(face.iter().map(|&v| base + v));
            faces.polygon(&corners)?;
            start = end;
        }
        model.triangles = faces.triangles;
    }
    check_triangles(model.triangles.len() as u64, limits)?;
    Ok(model)
}
