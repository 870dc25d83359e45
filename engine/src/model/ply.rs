//! PLY, ASCII and binary (either byte order), through `ply-rs-bw`: the `vertex` element's
//! `x`, `y`, `z` and the `face` element's `vertex_indices` (or `vertex_index`), straight into
//! plain structs. Counts in the header are checked against the limits before the payload is
//! read.

use std::io::Cursor;

use ply_rs_bw::parser::{Parser, Reader};
use ply_rs_bw::ply::{Property, PropertyAccess, PropertyAccessResult};

use super::{Faces, Model, ModelFormat, ModelLimits, check_triangles, corrupt};
use crate::error::Result;

#[derive(Default)]
struct Vertex([f32; 3]);

impl PropertyAccess for Vertex {
    fn new() -> Self {
        Self::default()
    }

    fn set_property(&mut self, key: &str, property: Property) -> PropertyAccessResult {
        let axis = match key {
            "x" => 0,
            "y" => 1,
            "z" => 2,
            _ => return PropertyAccessResult::Ignored,
        };
        self.0[axis] = match property {
            Property::Float(v) => v,
            Property::Double(v) => v as f32,
            Property::Char(v) => v.into(),
            Property::UChar(v) => v.into(),
            Property::Short(v) => v.into(),
            Property::UShort(v) => v.into(),
            Property::Int(v) => v as f32,
            Property::UInt(v) => v as f32,
            _ => return PropertyAccessResult::UnsupportedType,
        };
        PropertyAccessResult::Set
    }
}

#[derive(Default)]
struct Face(Vec<u32>);

impl PropertyAccess for Face {
    fn new() -> Self {
        Self::default()
    }

    fn set_property(&mut self, key: &str, property: Property) -> PropertyAccessResult {
        if key != "vertex_indices" && key != "vertex_index" {
            return PropertyAccessResult::Ignored;
        }
        // Negative indices become ones no vertex has, refused with the others out of range.
        let wide = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        self.0 = match property {
            Property::ListChar(v) => v.into_iter().map(|i| wide(i.into())).collect(),
            Property::ListUChar(v) => v.into_iter().map(u32::from).collect(),
            Property::ListShort(v) => v.into_iter().map(|i| wide(i.into())).collect(),
            Property::ListUShort(v) => v.into_iter().map(u32::from).collect(),
            Property::ListInt(v) => v.into_iter().map(|i| wide(i.into())).collect(),
            Property::ListUInt(v) => v,
            _ => return PropertyAccessResult::UnsupportedType,
        };
        PropertyAccessResult::Set
    }
}

/// Any other element, read past.
struct Other;

impl PropertyAccess for Other {
    fn new() -> Self {
        Other
    }

    fn set_property(&mut self, _: &str, _: Property) -> PropertyAccessResult {
        PropertyAccessResult::Ignored
    }
}

pub(super) fn read(bytes: &[u8], limits: ModelLimits) -> Result<Model> {
    let bad = |e: ply_rs_bw::parser::ParseError| corrupt(ModelFormat::Ply, e.to_string());
    let mut reader = Reader::new(Cursor::new(bytes));
    let header = Parser::<Other>::new().read_header(&mut reader).map_err(bad)?;
    let count = |name: &str| header.elements.get(name).map_or(0, |e| e.count as u64);
    check_triangles(count("face"), limits)?;
    // A vertex takes 3 bytes of binary at least.
    if count("vertex") > bytes.len() as u64 / 3 + 1 {
        return Err(corrupt(ModelFormat::Ply, "it declares more vertices than the file can hold"));
    }
    let mut model = Model::default();
    let mut faces = Vec::new();
    for element in header.elements.values() {
        match element.name.as_str() {
            "vertex" => {
                let vertices: Vec<Vertex> = Parser::new()
                    .read_payload_for_element(&mut reader, element, &header)
                    .map_err(bad)?;
                model.positions = vertices.into_iter().map(|v| v.0).collect();
            }
            "face" => {
                faces = Parser::<Face>::new()
                    .read_payload_for_element(&mut reader, element, &header)
                    .map_err(bad)?;
            }
            _ => {
                Parser::<Other>::new()
                    .read_payload_for_element(&mut reader, element, &header)
                    .map_err(bad)?;
            }
        }
    }
    let mut out = Faces::new(ModelFormat::Ply, model.positions.len(), limits)?;
    for face in &faces {
        out.polygon(&face.0)?;
    }
    model.triangles = out.triangles;
    Ok(model)
}
