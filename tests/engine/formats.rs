//! Every mode writes every format: the indexed formats (PLY, OBJ, 3MF, GLB) hold the same
//! closed solid as STL, and the reference tools accept them: the 3MF Consortium's lib3mf,
//! PrusaSlicer's command line and the Khronos glTF validator.
//!
//! The reference tools are found on the machine; the test command installs them and sets
//! `LITHOS_TEST_REQUIRE_VALIDATORS`, under which a missing one fails the test.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use lithos_engine::export::{MeshParts, Parts, write_indexed};
use lithos_engine::inspect::inspect_stl;
use lithos_engine::{IndexedMesh, Input, Job, JobMode, JobRequest, MeshFormat, Silent};
use serde_json::{Value, json};

use crate::exports::ball;
use crate::helpers::{cpu, horse_with_alpha, load, output_dir};
use crate::mesh_checks::{assert_closed_manifold, volume_and_area};

/// A test case: a mode, its request and its input image.
struct Case {
    label: &'static str,
    mode: JobMode,
    request: Value,
    image: lithos_engine::SourceImage,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            label: "lithophane",
            mode: JobMode::Lithophane,
            request: json!({ "max_grid": 160, "width_mm": 60.0 }),
            image: load("camera.png"),
        },
        Case {
            // Many regions: one part each.
            label: "masked-relief",
            mode: JobMode::Relief,
            request: json!({ "max_grid": 200, "mask": "threshold", "threshold": 0.5 }),
            image: load("coins.png"),
        },
        Case {
            // An adaptive surface over a mask: its parts as the full grid's, fewer triangles.
            label: "adaptive-masked-relief",
            mode: JobMode::Relief,
            request: json!({ "max_grid": 200, "mask": "threshold", "threshold": 0.5, "max_error_mm": 0.05 }),
            image: load("coins.png"),
        },
        Case {
            label: "adaptive-heart-lithophane",
            mode: JobMode::Lithophane,
            request: json!({ "max_grid": 160, "outline": "heart", "hanger_mm": 5, "max_error_mm": 0.02 }),
            image: load("camera.png"),
        },
        Case {
            label: "arc",
            mode: JobMode::Lithophane,
            request: json!({ "max_grid": 120, "shape": "arc", "arc_deg": 150 }),
            image: load("camera.png"),
        },
        Case {
            label: "cylinder",
            mode: JobMode::Lithophane,
            request: json!({ "max_grid": 120, "shape": "cylinder", "ring_mm": 3 }),
            image: load("camera.png"),
        },
        Case {
            // Adaptive columns: the compacted vertices of a bent panel with a socket plate.
            label: "adaptive-cylinder",
            mode: JobMode::Lithophane,
            request: json!({ "max_grid": 120, "shape": "cylinder", "ring_mm": 3, "socket_mm": 10,
                             "max_error_mm": 0.03 }),
            image: load("camera.png"),
        },
        Case {
            label: "solid",
            mode: JobMode::Solid,
            request: json!({ "max_grid": 64, "width_mm": 40.0 }),
            image: horse_with_alpha(),
        },
    ]
}

fn job(case: &Case, format: MeshFormat) -> Job {
    serde_json::from_value::<JobRequest>(case.request.clone())
        .unwrap()
        .build(case.mode, Some(format))
        .unwrap()
}

fn run(case: &Case, format: MeshFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    let report =
        cpu().run(&job(case, format), Input::Image(&case.image), &mut bytes, &Silent).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64, "{}: {format} bytes reported", case.label);
    bytes
}

/// Our binary PLY read back: positions, normals and triangles.
pub(crate) fn read_ply(bytes: &[u8]) -> IndexedMesh {
    let end = b"end_header\n";
    let at = bytes.windows(end.len()).position(|w| w == end).unwrap() + end.len();
    let header = std::str::from_utf8(&bytes[..at]).unwrap();
    let count = |element: &str| -> usize {
        let line = header.lines().find(|l| l.starts_with(&format!("element {element} "))).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let (vertices, faces) = (count("vertex"), count("face"));
    let body = &bytes[at..];
    let f = |i: usize| f32::from_le_bytes(body[i..i + 4].try_into().unwrap());
    let mut mesh = IndexedMesh::default();
    for v in 0..vertices {
        let at = v * 24;
        mesh.positions.push([f(at), f(at + 4), f(at + 8)]);
        mesh.normals.push([f(at + 12), f(at + 16), f(at + 20)]);
    }
    let faces_at = &body[vertices * 24..];
    assert_eq!(faces_at.len(), faces * 13, "nothing after the faces");
    for face in faces_at.chunks_exact(13) {
        assert_eq!(face[0], 3);
        let index = |k: usize| u32::from_le_bytes(face[1 + 4 * k..5 + 4 * k].try_into().unwrap());
        mesh.triangles.push([index(0), index(1), index(2)]);
    }
    mesh
}

#[test]
fn the_indexed_formats_hold_the_same_closed_solid_as_stl() {
    for case in cases() {
        let label = case.label;
        let stl = inspect_stl(Cursor::new(run(&case, MeshFormat::Stl))).unwrap();
        assert!(stl.is_closed_manifold(), "{label}: the STL is closed: {stl:?}");
        let mesh = read_ply(&run(&case, MeshFormat::Ply));
        let topology = assert_closed_manifold(label, &mesh);
        assert_eq!(mesh.triangles.len(), stl.triangles, "{label}: the same triangles as STL");
        assert_eq!(topology.components, stl.components, "{label}: the same pieces");
        assert_eq!(topology.euler, stl.euler, "{label}: the same topology");
        assert!(
            mesh.positions.len() < stl.triangles,
            "{label}: vertices are shared ({} for {} triangles)",
            mesh.positions.len(),
            stl.triangles
        );
        let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
        assert!(
            (volume - stl.volume).abs() <= 1e-6 * stl.volume,
            "{label}: volume {volume} as PLY, {} as STL",
            stl.volume
        );
        // Each part is one closed piece, in its own index space.
        let parts = MeshParts::new(&mesh);
        assert_eq!(parts.sizes().len(), stl.components, "{label}: one part per piece");

        // OBJ: the same vertices and faces, 1-based and across parts.
        let text = String::from_utf8(run(&case, MeshFormat::Obj)).unwrap();
        let faces = text.lines().filter(|l| l.starts_with("f ")).count();
        let vertices = text.lines().filter(|l| l.starts_with("v ")).count();
        assert_eq!((vertices, faces), (mesh.positions.len(), mesh.triangles.len()), "{label}");
    }
}

/// A reference tool, or `None` (after saying so) when it is missing and not required.
pub fn tool(name: &str, found: bool) -> bool {
    if !found {
        assert!(
            std::env::var("LITHOS_TEST_REQUIRE_VALIDATORS").is_err(),
            "LITHOS_TEST_REQUIRE_VALIDATORS is set but {name} is missing (tests/run-all.sh installs it)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

fn validators() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/formats")
}

fn output(command: &mut Command) -> String {
    let out = command.output().expect("the tool runs");
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// lib3mf's reading: per object, vertices, triangles and manifold-and-oriented.
pub fn lib3mf(path: &Path) -> Option<Value> {
    let found = Command::new("python3")
        .args(["-c", "import lib3mf"])
        .output()
        .is_ok_and(|o| o.status.success());
    tool("lib3mf (pip install lib3mf)", found).then(|| {
        let script = validators().join("check-3mf.py");
        serde_json::from_str(&output(Command::new("python3").arg(script).arg(path))).unwrap()
    })
}

/// PrusaSlicer's `--info`: per object, facets and whether it is manifold.
fn prusa_slicer(path: &Path) -> Option<Vec<(u64, bool, f64)>> {
    let found = Command::new("prusa-slicer").arg("--help").output().is_ok();
    tool("prusa-slicer", found).then(|| {
        let text = output(Command::new("prusa-slicer").arg("--info").arg(path));
        let value = |line: &str| line.split('=').nth(1).unwrap().trim().to_owned();
        let mut objects = Vec::new();
        let (mut facets, mut manifold) = (0, false);
        for line in text.lines() {
            if line.starts_with("number_of_facets") {
                facets = value(line).parse().unwrap();
            } else if line.starts_with("manifold") {
                manifold = value(line) == "yes";
            } else if line.starts_with("volume") {
                objects.push((facets, manifold, value(line).parse().unwrap()));
            }
        }
        objects
    })
}

/// The Khronos glTF validator's report.
fn gltf_validator(path: &Path) -> Option<Value> {
    let found = validators().join("node_modules/gltf-validator").exists();
    tool("gltf-validator (npm ci --prefix tests/formats)", found).then(|| {
        let script = validators().join("validate-gltf.mjs");
        serde_json::from_str(&output(Command::new("node").arg(script).arg(path))).unwrap()
    })
}

/// A mesh written in a format.
type Writer = Box<dyn Fn(MeshFormat) -> Vec<u8>>;

#[test]
fn reference_tools_accept_3mf_and_glb_with_the_counts_of_ply() {
    let dir = output_dir("formats");
    let mut meshes: Vec<(String, Writer)> = cases()
        .into_iter()
        .map(|case| {
            let label = case.label.to_owned();
            let write: Writer = Box::new(move |f| run(&case, f));
            (label, write)
        })
        .collect();
    // A volume's isosurface, written from its indexed mesh.
    meshes.push((
        "isosurface".into(),
        Box::new(|f| {
            let mut bytes = Vec::new();
            write_indexed(&ball(), f, &mut bytes).unwrap();
            bytes
        }),
    ));
    for (label, write) in &meshes {
        let ply = read_ply(&write(MeshFormat::Ply));
        let parts = MeshParts::new(&ply);
        let expected: Vec<(u64, u64)> =
            parts.sizes().iter().map(|s| (s.vertices, s.triangles)).collect();
        let stl = inspect_stl(Cursor::new(write(MeshFormat::Stl))).unwrap();

        let path = dir.join(format!("{label}.3mf"));
        std::fs::write(&path, write(MeshFormat::ThreeMf)).unwrap();
        if let Some(report) = lib3mf(&path) {
            assert_eq!(report["warnings"], json!([]), "{label}: {report}");
            assert_eq!(report["unit"], "MilliMeter", "{label}");
            let objects = report["objects"].as_array().unwrap();
            let read: Vec<(u64, u64)> = objects
                .iter()
                .map(|o| (o["vertices"].as_u64().unwrap(), o["triangles"].as_u64().unwrap()))
                .collect();
            assert_eq!(read, expected, "{label}: lib3mf reads PLY's parts");
            assert!(objects.iter().all(|o| o["manifold_and_oriented"] == true), "{label}");
            assert_eq!(report["build_items"], objects.len(), "{label}: each part is built");
        }
        if let Some(objects) = prusa_slicer(&path) {
            assert_eq!(objects.len(), expected.len(), "{label}: PrusaSlicer sees every part");
            assert!(objects.iter().all(|o| o.1), "{label}: PrusaSlicer finds it manifold");
            let facets: u64 = objects.iter().map(|o| o.0).sum();
            assert_eq!(facets, stl.triangles as u64, "{label}: PrusaSlicer's facets");
            let volume: f64 = objects.iter().map(|o| o.2).sum();
            assert!(
                (volume - stl.volume).abs() < 1e-4 * stl.volume,
                "{label}: PrusaSlicer's volume {volume} vs {}",
                stl.volume
            );
        }

        let path = dir.join(format!("{label}.glb"));
        std::fs::write(&path, write(MeshFormat::Glb)).unwrap();
        if let Some(report) = gltf_validator(&path) {
            let issues = &report["issues"];
            assert_eq!(issues["numErrors"], 0, "{label}: {issues}");
            assert_eq!(issues["numWarnings"], 0, "{label}: {issues}");
            let info = &report["info"];
            assert_eq!(info["totalVertexCount"], ply.positions.len(), "{label}");
            assert_eq!(info["totalTriangleCount"], ply.triangles.len(), "{label}");
        }
    }
}

#[test]
fn glb_is_in_metres_with_y_up_and_3mf_in_millimetres() {
    let mesh = ball();
    let mut glb = Vec::new();
    write_indexed(&mesh, MeshFormat::Glb, &mut glb).unwrap();
    assert_eq!(&glb[..4], b"glTF");
    assert_eq!(u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize, glb.len());
    let json_len = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
    let document: Value = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
    let bin = &glb[20 + json_len + 8..];
    let position = |v: usize| -> [f32; 3] {
        let f = |k: usize| {
            f32::from_le_bytes(bin[v * 12 + 4 * k..v * 12 + 4 * k + 4].try_into().unwrap())
        };
        [f(0), f(1), f(2)]
    };
    // The ball's millimetres as metres, Z up turned to Y up.
    for (v, p) in mesh.positions.iter().enumerate() {
        assert_eq!(position(v), [p[0] * 0.001, p[2] * 0.001, -(p[1] * 0.001)]);
    }
    let accessor = &document["accessors"][0];
    let (lo, hi) = mesh.bounds();
    assert_eq!(accessor["min"], json!([lo[0] * 0.001, lo[2] * 0.001, -(hi[1] * 0.001)]));
    assert_eq!(accessor["max"], json!([hi[0] * 0.001, hi[2] * 0.001, -(lo[1] * 0.001)]));

    let mut threemf = Vec::new();
    write_indexed(&mesh, MeshFormat::ThreeMf, &mut threemf).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(threemf)).unwrap();
    let mut model = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("3D/3dmodel.model").unwrap(), &mut model)
        .unwrap();
    assert!(model.contains(r#"unit="millimeter""#));
    let first = model.split("<vertex ").nth(1).unwrap();
    let x: f32 = first.split('"').nth(1).unwrap().parse().unwrap();
    assert_eq!(x, mesh.positions[0][0], "millimetres, every bit kept");
    for name in ["[Content_Types].xml", "_rels/.rels"] {
        assert!(zip.by_name(name).is_ok(), "{name} is in the package");
    }
}
