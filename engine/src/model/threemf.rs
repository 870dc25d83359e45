//! 3MF: the OPC (ZIP) package's root model (found through `_rels/.rels`), every build item
//! with its transform, objects made of components included, and model parts in other files
//! of the package (the Production extension's `p:path`, as Bambu Studio and OrcaSlicer write
//! them). Sizes are checked against the limits from the ZIP directory before anything is
//! inflated, and each part is read no further than it declares. The model's unit converts to
//! millimetres.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use super::{Model, ModelFormat, ModelLimits, check_triangles, corrupt};
use crate::error::{EngineError, Result};

/// Components nest at most this deep.
const MAX_DEPTH: usize = 16;

/// A 3MF affine transform, `m00 m01 m02 m10 m11 m12 m20 m21 m22 m30 m31 m32`, applied to a
/// row vector: `p' = [x y z 1] M`.
type Transform = [f64; 12];

const IDENTITY: Transform = [1., 0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 0.];

#[derive(Default)]
struct Object {
    positions: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
    /// Other objects placed in this one: the part they live in, their id, their transform.
    components: Vec<(Option<String>, u32, Transform)>,
}

/// One parsed model part: its unit, objects and build items.
#[derive(Default)]
struct Part {
    millimetres: f64,
    objects: HashMap<u32, Object>,
    items: Vec<(Option<String>, u32, Transform)>,
}

pub(super) fn read(bytes: &[u8], limits: ModelLimits) -> Result<(Model, f64)> {
    let archive_error = |e: zip::result::ZipError| corrupt(ModelFormat::ThreeMf, e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(archive_error)?;
    let mut declared = 0u64;
    for i in 0..archive.len() {
        // Saturating: a forged directory can state sizes that add past 2^64.
        declared = declared.saturating_add(archive.by_index_raw(i).map_err(archive_error)?.size());
    }
    if declared > limits.max_unzipped_bytes {
        return Err(EngineError::ModelZipBomb {
            declared_mib: declared >> 20,
            limit_mib: limits.max_unzipped_bytes >> 20,
        });
    }
    let mut package = Package { archive, parts: HashMap::new() };
    let root = package.root()?;
    let mut model = Model::default();
    let items = package.part(&root)?.items.clone();
    let unit = package.parts[&root].millimetres;
    let mut placing = Placing { package: &mut package, model: &mut model, limits, root };
    for (path, id, transform) in items {
        placing.object(path.as_deref(), id, transform, 0)?;
    }
    Ok((model, unit))
}

struct Package<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    parts: HashMap<String, Part>,
}

impl Package<'_> {
    /// The root model's name in the package.
    fn root(&mut self) -> Result<String> {
        let rels = self.text("_rels/.rels").ok();
        let target = rels.as_deref().and_then(|rels| {
            let mut reader = quick_xml::Reader::from_str(rels);
            loop {
                match reader.read_event() {
                    Ok(Event::Start(e) | Event::Empty(e))
                        if e.local_name().into_inner() == "Relationship"
                            && attribute(&e, "Type").is_some_and(|t| t.ends_with("/3dmodel")) =>
                    {
                        return attribute(&e, "Target");
                    }
                    Ok(Event::Eof) | Err(_) => return None,
                    _ => {}
                }
            }
        });
        Ok(target.unwrap_or_else(|| "3D/3dmodel.model".into()).trim_start_matches('/').into())
    }

    /// A file of the package as text, read no further than its declared size.
    fn text(&mut self, name: &str) -> Result<String> {
        let bad = |reason: String| corrupt(ModelFormat::ThreeMf, reason);
        let file = self.archive.by_name(name).map_err(|e| bad(format!("{name}: {e}")))?;
        let size = file.size();
        let mut text = String::new();
        file.take(size).read_to_string(&mut text).map_err(|e| bad(format!("{name}: {e}")))?;
        Ok(text)
    }

    /// Model part `name`, parsed once.
    fn part(&mut self, name: &str) -> Result<&Part> {
        if !self.parts.contains_key(name) {
            let text = self.text(name)?;
            let part = parse(&text)
                .map_err(|reason| corrupt(ModelFormat::ThreeMf, format!("{name}: {reason}")))?;
            self.parts.insert(name.to_owned(), part);
        }
        Ok(&self.parts[name])
    }
}

struct Placing<'a, 'p> {
    package: &'a mut Package<'p>,
    model: &'a mut Model,
    limits: ModelLimits,
    root: String,
}

impl Placing<'_, '_> {
    /// Places object `id` of part `path` (the root when `None`) through `transform`.
    fn object(
        &mut self,
        path: Option<&str>,
        id: u32,
        transform: Transform,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(corrupt(ModelFormat::ThreeMf, "its components nest more than 16 deep"));
        }
        let name = path.map_or_else(|| self.root.clone(), |p| p.trim_start_matches('/').to_owned());
        let part = self.package.part(&name)?;
        let object = part.objects.get(&id).ok_or_else(|| {
            corrupt(ModelFormat::ThreeMf, format!("{name}: no object with id {id}"))
        })?;
        check_triangles(
            self.model.triangles.len() as u64 + object.triangles.len() as u64,
            self.limits,
        )?;
        let base = self.model.positions.len() as u32;
        let vertices = object.positions.len() as u32;
        if let Some(bad) = object.triangles.iter().flatten().find(|&&v| v >= vertices) {
            return Err(corrupt(
                ModelFormat::ThreeMf,
                format!("{name}: object {id} refers to vertex {bad} of {vertices}"),
            ));
        }
        self.model.positions.extend(object.positions.iter().map(|&p| apply(&transform, p)));
        let mirrored = determinant(&transform) < 0.0;
        self.model.triangles.extend(object.triangles.iter().map(|t| {
            let t = t.map(|v| base + v);
            if mirrored { [t[0], t[2], t[1]] } else { t }
        }));
        let components = object.components.clone();
        for (child_path, child, placed) in components {
            // A component without a path lives in the part that names it.
            let child_path = child_path.or_else(|| path.map(str::to_owned));
            self.object(child_path.as_deref(), child, then(&placed, &transform), depth + 1)?;
        }
        Ok(())
    }
}

/// Parses one model part.
fn parse(text: &str) -> std::result::Result<Part, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut part = Part { millimetres: 1.0, ..Part::default() };
    let mut current: Option<(u32, Object)> = None;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let value = |key: &str| {
                    attribute(e, key)
                        .ok_or_else(|| format!("a <{}> lacks {}", e.local_name().into_inner(), key))
                };
                let number = |key: &str| -> std::result::Result<f64, String> {
                    let value = value(key)?;
                    value.trim().parse().map_err(|_| format!("{value:?} is not a number"))
                };
                // Ids and corners: whole numbers from 0.
                let index = |key: &str| -> std::result::Result<u32, String> {
                    let value = value(key)?;
                    value.trim().parse().map_err(|_| format!("{key} {value:?} is not an index"))
                };
                match e.local_name().into_inner() {
                    "model" => {
                        part.millimetres = match attribute(e, "unit").as_deref() {
                            None | Some("millimeter") => 1.0,
                            Some("micron") => 0.001,
                            Some("centimeter") => 10.0,
                            Some("meter") => 1000.0,
                            Some("inch") => 25.4,
                            Some("foot") => 304.8,
                            Some(other) => return Err(format!("unknown unit {other:?}")),
                        };
                    }
                    "object" => current = Some((index("id")?, Object::default())),
                    "vertex" => {
                        let object = &mut current.as_mut().ok_or("a vertex outside an object")?.1;
                        let p = [number("x")?, number("y")?, number("z")?];
                        object.positions.push(p.map(|v| v as f32));
                    }
                    "triangle" => {
                        let object = &mut current.as_mut().ok_or("a triangle outside an object")?.1;
                        object.triangles.push([index("v1")?, index("v2")?, index("v3")?]);
                    }
                    "component" => {
                        let object =
                            &mut current.as_mut().ok_or("a component outside an object")?.1;
                        let placed = (attribute(e, "path"), index("objectid")?, transform(e)?);
                        object.components.push(placed);
                    }
                    "item" => {
                        part.items.push((attribute(e, "path"), index("objectid")?, transform(e)?));
                    }
                    _ => {}
                }
                let empty_object =
                    matches!(event, Event::Empty(_)) && e.local_name().into_inner() == "object";
                if let Some((id, object)) = current.take_if(|_| empty_object) {
                    part.objects.insert(id, object);
                }
            }
            Event::End(ref e) if e.local_name().into_inner() == "object" => {
                if let Some((id, object)) = current.take() {
                    part.objects.insert(id, object);
                }
            }
            Event::Eof => return Ok(part),
            _ => {}
        }
    }
}

/// Attribute `key` (by local name, any prefix) of `e`.
fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().into_inner() == key)
        .map(|a| a.value.into_owned())
}

fn transform(e: &BytesStart<'_>) -> std::result::Result<Transform, String> {
    let Some(text) = attribute(e, "transform") else { return Ok(IDENTITY) };
    let values: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("transform {text:?} is not numbers"))?;
    values.try_into().map_err(|_| format!("transform {text:?} is not 12 numbers"))
}

fn apply(m: &Transform, p: [f32; 3]) -> [f32; 3] {
    let [x, y, z] = p.map(f64::from);
    std::array::from_fn(|c| (x * m[c] + y * m[3 + c] + z * m[6 + c] + m[9 + c]) as f32)
}

/// `a` then `b`.
fn then(a: &Transform, b: &Transform) -> Transform {
    let mut m = [0.0; 12];
    for r in 0..4 {
        for c in 0..3 {
            let through = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum::<f64>();
            m[r * 3 + c] = through + if r == 3 { b[9 + c] } else { 0.0 };
        }
    }
    m
}

fn determinant(m: &Transform) -> f64 {
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
        + m[2] * (m[3] * m[7] - m[4] * m[6])
}
