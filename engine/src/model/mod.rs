//! 3D model files in: STL (binary and ASCII), OBJ, PLY (ASCII and binary), glTF and GLB, 3MF
//! and OFF, each read into one indexed triangle mesh in millimetres, under limits checked
//! before memory is spent; and what is wrong with a mesh ([`analysis`]).
//!
//! The format is sniffed from the content, not the name. Indices are kept as the file gives
//! them (welding is repair's business); polygons are fanned into triangles.

pub mod analysis;
mod gltf;
pub mod hollow;
mod intersections;
pub(crate) mod nesting;
mod obj;
mod off;
pub mod params;
mod ply;
pub mod prompt;
pub mod repair;
mod stl;
mod threemf;
mod vector;

use crate::error::{EngineError, Result};

pub use analysis::{Analysis, analyse};
pub use hollow::{HollowParams, Hollowed};
pub use params::{MeshParams, RepairParams};
pub use prompt::{Prompt, PromptParams};
pub use repair::{RepairOptions, Repairs, repair};

/// A triangle mesh in millimetres.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub positions: Vec<[f32; 3]>,
    /// Corners as indices into `positions`, counter-clockwise seen from outside when the file
    /// is well made.
    pub triangles: Vec<[u32; 3]>,
}

impl Model {
    /// The same faces with corners at equal positions shared, as a slicer reads them.
    pub fn welded(&self) -> Model {
        let (triangles, positions) = analysis::weld(self);
        Model { positions, triangles }
    }
}

/// The 3D file formats Lithos reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    Stl,
    Obj,
    Ply,
    /// glTF 2.0, as JSON (`.gltf`, buffers embedded) or binary (`.glb`).
    Gltf,
    #[serde(rename = "3mf")]
    ThreeMf,
    Off,
}

impl ModelFormat {
    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ModelFormat::Stl => "model/stl",
            ModelFormat::Obj => "model/obj",
            ModelFormat::Ply => "application/x-ply",
            ModelFormat::Gltf => "model/gltf-binary",
            ModelFormat::ThreeMf => "model/3mf",
            ModelFormat::Off => "model/off",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Stl => "STL",
            ModelFormat::Obj => "OBJ",
            ModelFormat::Ply => "PLY",
            ModelFormat::Gltf => "glTF",
            ModelFormat::ThreeMf => "3MF",
            ModelFormat::Off => "OFF",
        }
    }
}

/// The length unit of a file that does not say (STL, OBJ, PLY, OFF). 3MF names its unit and
/// glTF is in metres; theirs win.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    #[default]
    Mm,
    Cm,
    M,
    In,
}

crate::names::named!(Units, "units" { Mm => "mm", Cm => "cm", M => "m", In => "in" });

impl Units {
    pub fn millimetres(self) -> f64 {
        match self {
            Units::Mm => 1.0,
            Units::Cm => 10.0,
            Units::M => 1000.0,
            Units::In => 25.4,
        }
    }
}

/// How much a 3D file may take, checked from its size and headers before the memory is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelLimits {
    /// The file itself.
    pub max_bytes: u64,
    /// Triangles after polygons are fanned, over every mesh and instance.
    pub max_triangles: u64,
    /// What a 3MF archive's parts expand to, together.
    pub max_unzipped_bytes: u64,
}

impl Default for ModelLimits {
    fn default() -> Self {
        Self { max_bytes: 1 << 30, max_triangles: 20_000_000, max_unzipped_bytes: 2 << 30 }
    }
}

/// A 3D file inspected: what `lithos inspect --json` prints and an upload of one describes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Inspection {
    /// The format read, sniffed from the content.
    pub format: ModelFormat,
    /// Millimetres per unit of the file.
    pub millimetres_per_unit: f64,
    pub closed: bool,
    pub manifold: bool,
    pub oriented: bool,
    /// Closed, manifold, oriented and not crossing itself: printable as it is.
    pub printable: bool,
    pub analysis: Analysis,
}

impl Inspection {
    /// Analyses `loaded`.
    pub fn of(loaded: &Loaded) -> Self {
        let analysis = analyse(&loaded.model);
        Self {
            format: loaded.format,
            millimetres_per_unit: loaded.millimetres_per_unit,
            closed: analysis.is_closed(),
            manifold: analysis.is_manifold(),
            oriented: analysis.is_oriented(),
            printable: analysis.is_printable(),
            analysis,
        }
    }
}

/// What a mesh job found and did, in its report.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ModelReport {
    /// The format read, sniffed from the content.
    pub format: ModelFormat,
    /// Millimetres per unit of the file.
    pub millimetres_per_unit: f64,
    /// What was wrong with the file as read.
    pub input: Analysis,
    /// What repair changed, when it ran.
    pub repairs: Option<Repairs>,
    /// What hollowing took out, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hollow: Option<Hollowed>,
}

/// A file read: its mesh, its format, and the unit its numbers were taken in.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub model: Model,
    pub format: ModelFormat,
    /// Millimetres per file unit.
    pub millimetres_per_unit: f64,
}

/// The format of `bytes`, when their content says it plainly: a format's signature, a binary
/// STL whose size matches its count, or text that reads as one.
pub fn sniff_exact(bytes: &[u8]) -> Option<ModelFormat> {
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head);
    let first = text.trim_start_matches('\u{feff}').trim_start();
    if bytes.starts_with(b"glTF") {
        return Some(ModelFormat::Gltf);
    }
    // A ZIP is a 3MF when it holds a model part (a ZIP of slices is a volume).
    if bytes.starts_with(b"PK\x03\x04") {
        return is_3mf(bytes).then_some(ModelFormat::ThreeMf);
    }
    if first.starts_with("ply") {
        return Some(ModelFormat::Ply);
    }
    if ["OFF", "COFF", "NOFF", "CNOFF", "STOFF"].iter().any(|k| first.starts_with(k)) {
        return Some(ModelFormat::Off);
    }
    if stl::is_binary(bytes) {
        return Some(ModelFormat::Stl);
    }
    if first.starts_with("solid") && text.contains("facet") {
        return Some(ModelFormat::Stl);
    }
    if first.starts_with('{') && text.contains("\"asset\"") {
        return Some(ModelFormat::Gltf);
    }
    let obj_line = |l: &str| {
        let l = l.trim_start();
        ["v ", "vn ", "vt ", "f ", "o ", "g ", "mtllib ", "usemtl "]
            .iter()
            .any(|k| l.starts_with(k))
    };
    if text.lines().any(obj_line) {
        return Some(ModelFormat::Obj);
    }
    None
}

/// The format of `bytes`, from their content; a binary file that is no other format (and no
/// image) is taken for an STL, whose reader then says what is wrong with it.
pub fn sniff(bytes: &[u8]) -> Option<ModelFormat> {
    sniff_exact(bytes).or_else(|| {
        let head = &bytes[..bytes.len().min(512)];
        // Binary that is nothing else: an STL whose size does not match its count, which
        // the reader names. (An image is not one.)
        let binary = bytes.len() >= 84 && std::str::from_utf8(head).is_err();
        (binary && image::guess_format(bytes).is_err()).then_some(ModelFormat::Stl)
    })
}

/// The format of a file from its first bytes and its size (a direct upload's header), when
/// they say it plainly: a binary STL's count matches the size, or [`sniff_exact`] knows the
/// prefix.
pub fn sniff_prefix(prefix: &[u8], size: u64) -> Option<ModelFormat> {
    if let Some(count) = prefix.get(80..84) {
        let count = u32::from_le_bytes(count.try_into().expect("four bytes"));
        if 84 + 50 * u64::from(count) == size && count > 0 {
            return Some(ModelFormat::Stl);
        }
    }
    sniff_exact(prefix)
}

/// Whether a ZIP names a `.model` part (3MF's `3D/3dmodel.model`) in its entries.
fn is_3mf(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b".model"))
}

/// Reads a 3D file from `bytes`, its format sniffed; `units` for formats that do not name
/// theirs.
pub fn read(bytes: &[u8], units: Units, limits: ModelLimits) -> Result<Loaded> {
    check_bytes(bytes, limits)?;
    let format = sniff(bytes).ok_or_else(|| {
        EngineError::UnsupportedFormat(
            "not a 3D file Lithos reads: send STL, OBJ, PLY, glTF/GLB, 3MF or OFF".into(),
        )
    })?;
    read_as(format, bytes, units, limits)
}

/// Reads `bytes` as a 3D file in `format`, whatever they hold (the fuzz targets read each
/// format so).
pub fn read_as(
    format: ModelFormat,
    bytes: &[u8],
    units: Units,
    limits: ModelLimits,
) -> Result<Loaded> {
    check_bytes(bytes, limits)?;
    let given = units.millimetres();
    let (mut model, millimetres_per_unit) = match format {
        ModelFormat::Stl => (stl::read(bytes, limits)?, given),
        ModelFormat::Obj => (obj::read(bytes, limits)?, given),
        ModelFormat::Ply => (ply::read(bytes, limits)?, given),
        ModelFormat::Off => (off::read(bytes, limits)?, given),
        ModelFormat::Gltf => (gltf::read(bytes, limits)?, 1000.0),
        ModelFormat::ThreeMf => threemf::read(bytes, limits)?,
    };
    if model.triangles.is_empty() {
        return Err(EngineError::EmptyModel(format.name()));
    }
    if millimetres_per_unit != 1.0 {
        let scale = millimetres_per_unit as f32;
        model.positions.iter_mut().for_each(|p| *p = p.map(|v| v * scale));
    }
    // After scaling: a corner of 1e36 metres is finite in the file but not in millimetres.
    if let Some(bad) = model.positions.iter().position(|p| p.iter().any(|v| !v.is_finite())) {
        return Err(corrupt(
            format,
            format!("vertex {bad} is not a finite number of millimetres in 32-bit floats"),
        ));
    }
    Ok(Loaded { model, format, millimetres_per_unit })
}

/// Refuses a file over the size limit, before anything reads it.
fn check_bytes(bytes: &[u8], limits: ModelLimits) -> Result<()> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(EngineError::ModelFileTooLarge {
            mib: bytes.len() as u64 >> 20,
            limit_mib: limits.max_bytes >> 20,
        });
    }
    Ok(())
}

/// A corrupt-file error for `format`.
fn corrupt(format: ModelFormat, reason: impl Into<String>) -> EngineError {
    EngineError::CorruptModel { format: format.name(), reason: reason.into() }
}

/// Refuses `triangles` over the limit.
fn check_triangles(triangles: u64, limits: ModelLimits) -> Result<()> {
    if triangles > limits.max_triangles {
        return Err(EngineError::TooManyTriangles { triangles, limit: limits.max_triangles });
    }
    Ok(())
}

/// Collects polygons fanned into triangles, checking indices and the triangle limit as it
/// goes.
struct Faces {
    format: ModelFormat,
    vertices: u32,
    limits: ModelLimits,
    triangles: Vec<[u32; 3]>,
}

impl Faces {
    fn new(format: ModelFormat, vertices: usize, limits: ModelLimits) -> Result<Self> {
        let vertices =
            u32::try_from(vertices).map_err(|_| corrupt(format, "more than 4 billion vertices"))?;
        Ok(Self { format, vertices, limits, triangles: Vec::new() })
    }

    /// Adds a polygon (a fan from its first corner).
    fn polygon(&mut self, corners: &[u32]) -> Result<()> {
        if let Some(&bad) = corners.iter().find(|&&v| v >= self.vertices) {
            return Err(corrupt(
                self.format,
                format!("a face refers to vertex {bad}, but there are {}", self.vertices),
            ));
        }
        if corners.len() < 3 {
            return Ok(());
        }
        check_triangles((self.triangles.len() + corners.len() - 2) as u64, self.limits)?;
        for k in 1..corners.len() - 1 {
            self.triangles.push([corners[0], corners[k], corners[k + 1]]);
        }
        Ok(())
    }
}

/// [`read`] from a file, its size checked before it is read.
pub fn read_file(path: &std::path::Path, units: Units, limits: ModelLimits) -> Result<Loaded> {
    let size = std::fs::metadata(path).map_err(EngineError::ReadInput)?.len();
    if size > limits.max_bytes {
        return Err(EngineError::ModelFileTooLarge {
            mib: size >> 20,
            limit_mib: limits.max_bytes >> 20,
        });
    }
    read(&std::fs::read(path).map_err(EngineError::ReadInput)?, units, limits)
}
