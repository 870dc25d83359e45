//! glTF 2.0 through the `gltf` crate, as GLB or as JSON with its buffers embedded: every mesh
//! of the default scene (or the first), through its nodes' transforms, in metres (the caller
//! scales to millimetres). Triangle lists, strips and fans are read; points and lines are
//! not surfaces and are skipped. A buffer in another file cannot come with an upload, so it is
//! refused with what to send instead.
//!
//! glTF's up is +Y and a print bed's +Z: a point `(x, y, z)` is read as `(x, -z, y)`, a
//! rotation (so winding and volume are kept), the inverse of what the GLB writer does, so a
//! model generated standing up stands up on the bed.

use base64::Engine as _;
use gltf::mesh::Mode;

use super::{Model, ModelFormat, ModelLimits, check_triangles, corrupt};
use crate::error::{EngineError, Result};

/// Nodes nest at most this deep (glTF forbids cycles; a forged file is stopped here).
const MAX_DEPTH: usize = 64;

type Matrix = [[f32; 4]; 4];

pub(super) fn read(bytes: &[u8], limits: ModelLimits) -> Result<Model> {
    let bad = |reason: String| corrupt(ModelFormat::Gltf, reason);
    // The gltf crate subtracts the header from a GLB's stated length unchecked.
    if let Some(length) = bytes.strip_prefix(b"glTF").and_then(|rest| rest.get(4..8)) {
        let length = u32::from_le_bytes(length.try_into().expect("four bytes"));
        if length < 12 {
            return Err(bad(format!("its GLB header states {length} bytes, less than itself")));
        }
    }
    let gltf = gltf::Gltf::from_slice_without_validation(bytes).map_err(|e| bad(e.to_string()))?;
    // gltf-json's validation indexes the accessors with a primitive's POSITION unchecked
    // (1.4.1, mesh.rs), so that one reference is checked here, before it validates the rest.
    let json = gltf.document.into_json();
    for (m, mesh) in json.meshes.iter().enumerate() {
        for (p, primitive) in mesh.primitives.iter().enumerate() {
            let position = gltf::json::validation::Checked::Valid(gltf::Semantic::Positions);
            if let Some(index) = primitive.attributes.get(&position)
                && index.value() >= json.accessors.len()
            {
                return Err(bad(format!(
                    "mesh {m} primitive {p} names accessor {} for its positions, but the file \
                     has {} accessors",
                    index.value(),
                    json.accessors.len()
                )));
            }
        }
    }
    let document = gltf::Document::from_json(json).map_err(|e| bad(e.to_string()))?;
    let gltf = gltf::Gltf { document, blob: gltf.blob };
    if let Some(required) = gltf.extensions_required().next() {
        return Err(EngineError::UnsupportedFormat(format!(
            "the glTF file requires the extension {required} (compressed or extended geometry); \
             export it without compression"
        )));
    }
    let mut buffers = Vec::new();
    for buffer in gltf.buffers() {
        let data = match buffer.source() {
            gltf::buffer::Source::Bin => std::borrow::Cow::Borrowed(
                gltf.blob.as_deref().ok_or_else(|| bad("its binary buffer is missing".into()))?,
            ),
            gltf::buffer::Source::Uri(uri) => match uri.strip_prefix("data:") {
                Some(data) => {
                    let (_, encoded) = data
                        .split_once(";base64,")
                        .ok_or_else(|| bad("a data URI buffer is not base64".into()))?;
                    std::borrow::Cow::Owned(
                        base64::engine::general_purpose::STANDARD
                            .decode(encoded)
                            .map_err(|e| bad(format!("a data URI buffer: {e}")))?,
                    )
                }
                None => {
                    return Err(EngineError::UnsupportedFormat(format!(
                        "the glTF file keeps its geometry in another file ({uri}); send it as \
                         one .glb, or as a .gltf with its buffers embedded"
                    )));
                }
            },
        };
        if (data.len() as u64) < buffer.length() as u64 {
            return Err(bad(format!("buffer {} is shorter than it says", buffer.index())));
        }
        buffers.push(data);
    }
    let mut model = Model::default();
    let scene = gltf.default_scene().or_else(|| gltf.scenes().next());
    let identity: Matrix = [[1., 0., 0., 0.], [0., 1., 0., 0.], [0., 0., 1., 0.], [0., 0., 0., 1.]];
    let mut walk = Walk { buffers: &buffers, limits, model: &mut model, triangles: 0 };
    match scene {
        Some(scene) => {
            for node in scene.nodes() {
                walk.node(&node, identity, 0)?;
            }
        }
        // No scene at all: every mesh once, as it is.
        None => {
            for mesh in gltf.meshes() {
                walk.mesh(&mesh, identity)?;
            }
        }
    }
    model.positions.iter_mut().for_each(|p| *p = [p[0], -p[2], p[1]]);
    Ok(model)
}

struct Walk<'a> {
    buffers: &'a [std::borrow::Cow<'a, [u8]>],
    limits: ModelLimits,
    model: &'a mut Model,
    triangles: u64,
}

impl Walk<'_> {
    fn node(&mut self, node: &gltf::Node<'_>, parent: Matrix, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(corrupt(ModelFormat::Gltf, "its nodes nest more than 64 deep"));
        }
        let world = multiply(parent, node.transform().matrix());
        if let Some(mesh) = node.mesh() {
            self.mesh(&mesh, world)?;
        }
        for child in node.children() {
            self.node(&child, world, depth + 1)?;
        }
        Ok(())
    }

    fn mesh(&mut self, mesh: &gltf::Mesh<'_>, world: Matrix) -> Result<()> {
        let bad = |reason: String| corrupt(ModelFormat::Gltf, reason);
        // A mirroring transform turns the winding over.
        let mirrored = determinant(world) < 0.0;
        for primitive in mesh.primitives() {
            let mode = primitive.mode();
            if !matches!(mode, Mode::Triangles | Mode::TriangleStrip | Mode::TriangleFan) {
                continue;
            }
            let count = primitive.indices().map_or_else(
                || primitive.get(&gltf::Semantic::Positions).map_or(0, |a| a.count()),
                |a| a.count(),
            ) as u64;
            self.triangles +=
                if mode == Mode::Triangles { count / 3 } else { count.saturating_sub(2) };
            check_triangles(self.triangles, self.limits)?;
            // The gltf crate's readers assume the types the specification requires (and
            // panic on others, found by fuzzing): positions are float triples, indices
            // unsigned integers.
            use gltf::accessor::{DataType, Dimensions};
            let positions_ok = primitive.get(&gltf::Semantic::Positions).is_none_or(|a| {
                a.data_type() == DataType::F32 && a.dimensions() == Dimensions::Vec3
            });
            let indices_ok = primitive.indices().is_none_or(|a| {
                matches!(a.data_type(), DataType::U8 | DataType::U16 | DataType::U32)
                    && a.dimensions() == Dimensions::Scalar
            });
            if !(positions_ok && indices_ok) {
                return Err(bad(format!(
                    "mesh {} stores its positions or indices in a type glTF does not allow",
                    mesh.index()
                )));
            }
            // The readers compute an accessor's span unchecked (a count of 0 underflows, found
            // by fuzzing): each must hold at least one element, inside its buffer view.
            let accessors = primitive.get(&gltf::Semantic::Positions).into_iter();
            if let Some(a) = accessors.chain(primitive.indices()).find(|a| !spans_its_view(a)) {
                return Err(bad(format!(
                    "accessor {} of mesh {} holds no elements, or more than its buffer view",
                    a.index(),
                    mesh.index()
                )));
            }
            let reader = primitive.reader(|b| self.buffers.get(b.index()).map(|b| &**b));
            // Anything else the readers assume and a forged file breaks is a refusal too.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let positions: Option<Vec<[f32; 3]>> =
                    reader.read_positions().map(Iterator::collect);
                let indices: Option<Vec<u32>> =
                    reader.read_indices().map(|i| i.into_u32().collect());
                (positions, indices)
            }));
            let Ok((positions, indices)) = read else {
                return Err(bad(format!(
                    "mesh {} has accessors its buffers cannot hold",
                    mesh.index()
                )));
            };
            let positions = positions.ok_or_else(|| {
                bad(format!("mesh {} has a primitive without positions", mesh.index()))
            })?;
            let base = self.model.positions.len() as u32;
            self.model.positions.extend(positions.into_iter().map(|p| apply(world, p)));
            let vertices = self.model.positions.len() as u32 - base;
            let indices: Vec<u32> = indices.unwrap_or_else(|| (0..vertices).collect());
            if let Some(&v) = indices.iter().find(|&&v| v >= vertices) {
                return Err(bad(format!(
                    "mesh {} refers to vertex {v} of {vertices}",
                    mesh.index()
                )));
            }
            let mut push = |a: u32, b: u32, c: u32| {
                let t = [base + a, base + b, base + c];
                self.model.triangles.push(if mirrored { [t[0], t[2], t[1]] } else { t });
            };
            match mode {
                Mode::Triangles => indices.chunks_exact(3).for_each(|t| push(t[0], t[1], t[2])),
                Mode::TriangleStrip => {
                    for (k, w) in indices.windows(3).enumerate() {
                        if k % 2 == 0 { push(w[0], w[1], w[2]) } else { push(w[1], w[0], w[2]) }
                    }
                }
                _ => {
                    for w in indices.windows(2).skip(1) {
                        push(indices[0], w[0], w[1]);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether accessor `a` holds at least one element and, when it reads a buffer view, ends
/// within it (sparse accessors are read whole, and checked by the reader).
fn spans_its_view(a: &gltf::Accessor<'_>) -> bool {
    if a.count() == 0 {
        return false;
    }
    let Some(view) = a.view() else { return true };
    let stride = view.stride().unwrap_or(a.size());
    let end = stride
        .checked_mul(a.count() - 1)
        .and_then(|n| n.checked_add(a.size()))
        .and_then(|n| n.checked_add(a.offset()));
    end.is_some_and(|end| end <= view.length())
}

/// `a * b` for column-major matrices.
fn multiply(a: Matrix, b: Matrix) -> Matrix {
    let mut m = [[0.0; 4]; 4];
    for (c, column) in m.iter_mut().enumerate() {
        for (r, value) in column.iter_mut().enumerate() {
            *value = (0..4).map(|k| a[k][r] * b[c][k]).sum();
        }
    }
    m
}

fn apply(m: Matrix, p: [f32; 3]) -> [f32; 3] {
    std::array::from_fn(|r| m[0][r] * p[0] + m[1][r] * p[1] + m[2][r] * p[2] + m[3][r])
}

fn determinant(m: Matrix) -> f32 {
    m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2])
        - m[1][0] * (m[0][1] * m[2][2] - m[2][1] * m[0][2])
        + m[2][0] * (m[0][1] * m[1][2] - m[1][1] * m[0][2])
}
