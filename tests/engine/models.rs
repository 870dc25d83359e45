//! 3D files in: every reader on files the reference writers wrote (trimesh, and lib3mf for
//! 3MF), and the analysis checked against trimesh's own measures of each (watertight, winding
//! consistent, volume, area) and against what each file was made to have (holes, flipped
//! faces, inside-out shells, non-manifold edges and vertices, duplicate and degenerate faces,
//! crossing faces). Broken and oversized files get typed errors before memory is spent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use lithos_engine::EngineError;
use lithos_engine::model::{self, ModelFormat, ModelLimits, Units};
use serde_json::Value;

use crate::helpers::{output_dir, run_writers};

/// The reference writers' files, written once per test run.
pub fn files() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = output_dir("models");
        run_writers("models.py", &[&dir], "trimesh lib3mf");
        dir
    })
}

fn read(name: &str) -> model::Loaded {
    model::read_file(&files().join(name), Units::Mm, ModelLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn close(label: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{label}: {got} against {want}");
}

#[test]
fn every_reference_file_reads_and_analyses_as_trimesh_measures_it() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(files().join("expected.json")).unwrap()).unwrap();
    let formats = [
        (".stl", ModelFormat::Stl),
        (".obj", ModelFormat::Obj),
        (".ply", ModelFormat::Ply),
        (".glb", ModelFormat::Gltf),
        (".3mf", ModelFormat::ThreeMf),
        (".off", ModelFormat::Off),
    ];
    let cases = expected.as_object().unwrap();
    assert!(cases.len() >= 16, "every case written");
    for (name, want) in cases {
        let loaded = read(name);
        let format = formats.iter().find(|(ext, _)| name.ends_with(ext)).unwrap().1;
        assert_eq!(loaded.format, format, "{name}: sniffed from its content");
        let a = model::analyse(&loaded.model);
        let number = |key: &str| want.get(key).and_then(Value::as_f64);
        let count = |key: &str| want.get(key).and_then(Value::as_u64).map(|n| n as usize);
        assert_eq!(Some(a.triangles), count("triangles"), "{name}: triangles");
        assert_eq!(Some(a.shells), count("shells"), "{name}: shells");
        // trimesh's watertight: every edge has exactly two faces.
        let watertight = a.is_closed() && a.non_manifold_edges == 0;
        assert_eq!(Some(watertight), want["watertight"].as_bool(), "{name}: watertight");
        assert_eq!(
            Some(a.flipped_faces == 0),
            want["winding_consistent"].as_bool(),
            "{name}: winding consistent"
        );
        if let Some(volume) = number("volume_mm3").or(number("volume")) {
            close(&format!("{name}: volume"), a.volume_mm3, volume);
        }
        if let Some(area) = number("area_mm2").or(number("area")) {
            close(&format!("{name}: area"), a.area_mm2, area);
        }
        assert_eq!(a.holes, count("holes").unwrap_or(0), "{name}: holes");
        assert_eq!(a.flipped_faces, count("flipped").unwrap_or(0), "{name}: flipped faces");
        assert_eq!(a.inverted_shells, count("inverted").unwrap_or(0), "{name}: inside out");
        assert_eq!(a.duplicate_faces, count("duplicates").unwrap_or(0), "{name}: duplicates");
        assert_eq!(a.degenerate_faces, count("degenerate").unwrap_or(0), "{name}: degenerate");
        if let Some(edges) = count("non_manifold_edges") {
            assert_eq!(a.non_manifold_edges, edges, "{name}: non-manifold edges");
            assert_eq!(Some(a.open_edges), count("open_edges"), "{name}: open edges");
        }
        if let Some(vertices) = count("non_manifold_vertices") {
            assert_eq!(a.non_manifold_vertices, vertices, "{name}: non-manifold vertices");
        }
        match want.get("crossing").and_then(Value::as_bool) {
            Some(true) => assert!(a.self_intersections > 0, "{name}: faces cross"),
            _ => assert_eq!(a.self_intersections, 0, "{name}: no faces cross"),
        }
        let clean = ["holes", "flipped", "inverted", "duplicates", "degenerate"]
            .iter()
            .chain(&["non_manifold_edges", "non_manifold_vertices", "crossing"])
            .all(|k| want.get(*k).is_none_or(|v| *v == Value::Bool(false)));
        assert_eq!(a.is_printable(), clean, "{name}: printable exactly when nothing is wrong");
    }
}

#[test]
fn units_come_from_the_file_or_the_caller() {
    // glTF is in metres and 3MF names its unit (placed.3mf: centimetres): read as millimetres.
    assert_eq!(read("scene.glb").millimetres_per_unit, 1000.0);
    assert_eq!(read("placed.3mf").millimetres_per_unit, 10.0);
    let inches = model::read_file(&files().join("box.stl"), Units::In, ModelLimits::default());
    let a = model::analyse(&inches.unwrap().model);
    close("a box in inches", a.volume_mm3, 6000.0 * 25.4f64.powi(3));
}

fn refused(bytes: &[u8], limits: ModelLimits) -> EngineError {
    model::read(bytes, Units::Mm, limits).expect_err("refused")
}

#[test]
fn broken_files_get_typed_errors_that_say_what_is_wrong() {
    let limits = ModelLimits::default();
    let bytes = |name: &str| std::fs::read(files().join(name)).unwrap();
    let corrupt = |e: EngineError, needle: &str| {
        assert!(
            matches!(&e, EngineError::CorruptModel { reason, .. } if reason.contains(needle)),
            "a corrupt-model error saying {needle:?}: {e}"
        );
    };
    // A binary STL cut short.
    let stl = bytes("box.stl");
    corrupt(refused(&stl[..stl.len() - 7], limits), "cut short");
    // A 3MF package cut short.
    let package = bytes("placed.3mf");
    assert!(matches!(
        refused(&package[..package.len() / 2], limits),
        EngineError::CorruptModel { .. }
    ));
    // A PLY face pointing past the vertices.
    let ply = String::from_utf8(bytes("torus_ascii.ply")).unwrap();
    let last = ply.trim_end().rsplit('\n').next().unwrap().to_owned();
    let broken = ply.replace(&last, "3 0 1 99999");
    corrupt(refused(broken.as_bytes(), limits), "vertex 99999");
    // An OFF vertex that is not a number, and one that is not finite.
    let off = String::from_utf8(bytes("box.off")).unwrap();
    let first = off.lines().nth(2).unwrap();
    corrupt(refused(off.replacen(first, "x 0 0", 1).as_bytes(), limits), "vertex 0");
    corrupt(refused(off.replacen(first, "nan 0 0", 1).as_bytes(), limits), "finite");
    // A glTF whose geometry lives in a file the upload cannot carry.
    let gltf = br#"{"asset":{"version":"2.0"},"buffers":[{"uri":"box.bin","byteLength":288}]}"#;
    let e = refused(gltf, limits);
    assert!(matches!(&e, EngineError::UnsupportedFormat(m) if m.contains("box.bin")), "{e}");
    // Not a 3D file at all.
    let png = std::fs::read(crate::helpers::data("camera.png")).unwrap();
    assert!(matches!(refused(&png, limits), EngineError::UnsupportedFormat(_)));
}

#[test]
fn files_over_the_limits_are_refused_before_their_memory_is_spent() {
    let bytes = |name: &str| std::fs::read(files().join(name)).unwrap();
    let few = ModelLimits { max_triangles: 1000, ..ModelLimits::default() };
    for name in ["torus.off", "torus_ascii.ply"] {
        let e = refused(&bytes(name), few);
        assert!(matches!(e, EngineError::TooManyTriangles { limit: 1000, .. }), "{name}: {e}");
    }
    // A binary STL declaring more triangles than allowed is refused from its header.
    let mut stl = bytes("box.stl");
    let few = ModelLimits { max_triangles: 11, ..ModelLimits::default() };
    assert!(matches!(refused(&stl, few), EngineError::TooManyTriangles { triangles: 12, .. }));
    stl.truncate(84);
    let small = ModelLimits { max_bytes: 83, ..ModelLimits::default() };
    assert!(matches!(refused(&stl, small), EngineError::ModelFileTooLarge { .. }));
    // A 3MF whose parts expand past the limit, from the ZIP directory alone.
    let tight = ModelLimits { max_unzipped_bytes: 1000, ..ModelLimits::default() };
    let e = refused(&bytes("placed.3mf"), tight);
    assert!(matches!(e, EngineError::ModelZipBomb { .. }), "{e}");
}

#[test]
fn lithos_inspect_prints_the_analysis() {
    let run = Command::new(env!("CARGO_BIN_EXE_lithos"))
        .args(["inspect", "--json"])
        .arg(files().join("broken.stl"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["format"], "stl");
    assert_eq!(report["closed"], false);
    assert_eq!(report["analysis"]["holes"], 3);
    assert_eq!(report["analysis"]["flipped_faces"], 2);
    let text = Command::new(env!("CARGO_BIN_EXE_lithos"))
        .arg("inspect")
        .arg(files().join("broken.stl"))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("3 holes") && text.contains("2 flipped faces"), "{text}");
    let missing = Command::new(env!("CARGO_BIN_EXE_lithos"))
        .args(["inspect", "/nonexistent/model.stl"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}
