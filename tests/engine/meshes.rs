//! `mode` mesh: 3D files repaired, placed and converted. Each output is read back and checked
//! independently of the engine's own check: closed, oriented and manifold
//! ([`assert_closed_manifold`]), with the volume the intact model had (trimesh's measure).
//! A model that cannot be made printable is refused with what is wrong, and nothing is written.

use std::path::Path;

use lithos_engine::model::{self, ModelLimits, Units};
use lithos_engine::{DecodeLimits, Silent};
use lithos_engine::{
    EngineError, IndexedMesh, Input, Job, JobMode, JobRequest, MeshFormat, Report,
};
use serde_json::Value;

use crate::helpers::{cpu, output_dir};
use crate::mesh_checks::{assert_closed_manifold, volume_and_area};
use crate::models::files;

fn job(request: JobRequest, format: MeshFormat) -> Job {
    request.build(JobMode::Mesh, Some(format)).unwrap()
}

/// Converts the reference file `name` with `request` into `format`, and reads the output back.
fn convert(name: &str, request: JobRequest, format: MeshFormat) -> (Report, IndexedMesh) {
    let out = output_dir("meshes").join(format!("{name}.{}", format.extension()));
    let input = Input::File { path: &files().join(name), limits: DecodeLimits::default() };
    let report = cpu()
        .run_to_file(&job(request, format), input, &out, &Silent)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (report, read_back(&out))
}

/// The file at `path` read, its corners welded by exact position (an STL's are not shared).
fn read_back(path: &Path) -> IndexedMesh {
    let loaded = model::read_file(path, Units::Mm, ModelLimits::default()).unwrap().model;
    let mut index = std::collections::HashMap::new();
    let mut positions = Vec::new();
    let number: Vec<u32> = loaded
        .positions
        .iter()
        .map(|p| {
            *index.entry(p.map(f32::to_bits)).or_insert_with(|| {
                positions.push(*p);
                positions.len() as u32 - 1
            })
        })
        .collect();
    let triangles = loaded.triangles.iter().map(|t| t.map(|v| number[v as usize])).collect();
    let normals = vec![[0.0, 0.0, 1.0]; positions.len()];
    IndexedMesh { positions, normals, triangles }
}

fn expected(name: &str) -> Value {
    let all: Value =
        serde_json::from_slice(&std::fs::read(files().join("expected.json")).unwrap()).unwrap();
    all[name].clone()
}

fn close(label: &str, got: f64, want: f64, tolerance: f64) {
    assert!((got - want).abs() <= tolerance * want.abs(), "{label}: {got} against {want}");
}

#[test]
fn broken_reference_files_are_repaired_into_closed_solids_of_their_intact_volume() {
    // A sphere with three one-face holes and two faces turned over: each hole is filled with
    // the face it lost, so the volume is the intact sphere's to rounding.
    let (report, mesh) = convert("broken.stl", JobRequest::default(), MeshFormat::Ply);
    let topology = assert_closed_manifold("broken.stl repaired", &mesh);
    assert_eq!((topology.components, topology.euler), (1, 2), "one sphere");
    let intact = expected("broken.stl")["intact_volume"].as_f64().unwrap();
    let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
    close("the repaired sphere's volume", volume, intact, 1e-6);
    close("the check's volume", report.check.volume_mm3, intact, 1e-6);
    let model = report.model.expect("a mesh job reports its model");
    let repairs = model.repairs.expect("repair is on by default");
    assert_eq!((model.input.holes, repairs.holes_filled, repairs.faces_added), (3, 3, 3));
    assert_eq!(repairs.faces_flipped, 2);
    assert!(report.check.passed() && report.check.shells == 1);

    // A box wound inside out is turned outward; a box with a face twice and one with no area
    // loses them.
    for (name, change) in [("inverted.ply", "turned"), ("messy.ply", "dropped")] {
        let (report, mesh) = convert(name, JobRequest::default(), MeshFormat::Stl);
        assert_closed_manifold(name, &mesh);
        let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
        close(&format!("{name}: the box's volume"), volume, 6000.0, 1e-9);
        let repairs = report.model.unwrap().repairs.unwrap();
        match change {
            "turned" => assert_eq!(repairs.shells_turned_out, 1, "{name}"),
            _ => assert_eq!(
                (repairs.duplicate_faces_removed, repairs.degenerate_faces_removed),
                (1, 1),
                "{name}"
            ),
        }
    }
}

#[test]
fn overlapping_shells_are_resolved_into_the_one_solid_they_enclose() {
    // Two boxes overlapping: one closed solid of their union's volume, where a slicer would
    // otherwise count the shared block twice.
    let (report, mesh) = convert("overlap.stl", JobRequest::default(), MeshFormat::Stl);
    let topology = assert_closed_manifold("overlap.stl resolved", &mesh);
    assert_eq!(topology.components, 1, "one solid");
    let union = expected("overlap.stl")["union_volume"].as_f64().unwrap();
    let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
    close("the union's volume", volume, union, 1e-6);
    let model = report.model.unwrap();
    assert!(model.input.self_intersections > 0, "{:?}", model.input);
    let repairs = model.repairs.unwrap();
    assert!(repairs.intersections_resolved > 0 && repairs.shells_merged == 1, "{repairs:?}");
    assert_eq!(report.check.shells, 1);
    // A post through a ring's hole and its tube: one solid, the ring's hole kept (genus 1).
    let (report, mesh) = convert("threaded.stl", JobRequest::default(), MeshFormat::Stl);
    let topology = assert_closed_manifold("threaded.stl resolved", &mesh);
    assert_eq!((topology.components, topology.euler), (1, 0), "one solid, genus 1");
    assert_eq!(report.model.unwrap().repairs.unwrap().shells_merged, 1);
    let parts = expected("threaded.stl")["volume"].as_f64().unwrap();
    let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
    assert!(volume < parts - 1.0, "what the post and the tube share is counted once");
    // A canceled job (the watchdog, or its owner) stops, its rebuild too, and writes nothing.
    struct Canceled;
    impl lithos_engine::Progress for Canceled {
        fn is_canceled(&self) -> bool {
            true
        }
    }
    let out = output_dir("meshes").join("canceled.stl");
    let _ = std::fs::remove_file(&out);
    let input = Input::File { path: &files().join("overlap.stl"), limits: DecodeLimits::default() };
    let job = job(JobRequest::default(), MeshFormat::Stl);
    let error = cpu().run_to_file(&job, input, &out, &Canceled).unwrap_err();
    assert!(matches!(error, EngineError::Canceled), "{error}");
    assert!(!out.exists());
    // Shells apart are left apart.
    let (report, _) = convert("apart.stl", JobRequest::default(), MeshFormat::Stl);
    let repairs = report.model.unwrap().repairs.unwrap();
    assert_eq!((repairs.intersections_resolved, repairs.shells_merged), (0, 0));
    assert_eq!(report.check.shells, 2);
}

#[test]
fn a_hollowed_model_keeps_its_walls_and_drains_through_its_bottom() {
    // The 10 x 20 x 30 mm box, hollowed with 2 mm walls and sealed: the box and a cavity of
    // 6 x 16 x 26 mm inside it, facing in.
    let hollow = |drains: u32| JobRequest {
        hollow_mm: Some(2.0),
        drain_holes: Some(drains),
        ..JobRequest::default()
    };
    let (report, mesh) = convert("box.stl", hollow(0), MeshFormat::Stl);
    let topology = assert_closed_manifold("box.stl hollowed", &mesh);
    assert_eq!((topology.components, topology.euler), (2, 4), "the box and its cavity");
    let cavity = 6.0 * 16.0 * 26.0;
    let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
    // Marching cubes rounds the cavity's edges, within a sample (a third of the wall).
    close("the walls' volume", volume, 6000.0 - cavity, 0.02);
    let hollowed = report.model.unwrap().hollow.expect("hollowed");
    close("the cavity", hollowed.cavity_mm3, cavity, 0.04);
    assert!(hollowed.pitch_mm <= 2.0 / 3.0 + 1e-9);
    assert_eq!(report.check.shells, 2);
    // Two drain holes of 3 mm through the 2 mm bottom: one solid, the cavity open to the
    // outside through both (genus 1), less two short cylinders of material.
    let (report, mesh) = convert("box.stl", hollow(2), MeshFormat::Stl);
    let topology = assert_closed_manifold("box.stl drained", &mesh);
    assert_eq!((topology.components, topology.euler), (1, 0), "one solid, two holes through");
    let drilled = 2.0 * std::f64::consts::PI * 1.5 * 1.5 * 2.0;
    let (drained, _) = volume_and_area(&mesh, |p| p.map(f64::from));
    assert!(drained < volume - 0.8 * drilled && drained > volume - 1.5 * drilled, "{drained}");
    assert_eq!(report.model.unwrap().hollow.unwrap().drains, 2);

    // Walls thicker than half the model leave no cavity; drain options need hollowing.
    let input = Input::File { path: &files().join("box.stl"), limits: DecodeLimits::default() };
    let out = output_dir("meshes").join("no-room.stl");
    let thick = JobRequest { hollow_mm: Some(6.0), ..JobRequest::default() };
    let error = cpu().run_to_file(&job(thick, MeshFormat::Stl), input, &out, &Silent).unwrap_err();
    assert!(
        matches!(&error, EngineError::InvalidParameter(p) if p.field == "hollow_mm" && p.message.contains("no room")),
        "{error}"
    );
    let stray = JobRequest { drain_mm: Some(2.0), ..JobRequest::default() };
    let error = stray.build(JobMode::Mesh, None).unwrap_err();
    assert_eq!((error.field, error.message.as_str()), ("drain_mm", "needs `hollow_mm`"));
}

#[test]
fn a_model_that_is_not_printable_is_refused_and_nothing_is_written() {
    let out = output_dir("meshes").join("refused.stl");
    let _ = std::fs::remove_file(&out);
    let run = |name: &str, request: JobRequest| {
        let input = Input::File { path: &files().join(name), limits: DecodeLimits::default() };
        cpu().run_to_file(&job(request, MeshFormat::Stl), input, &out, &Silent)
    };
    // Holes, with repair off: the check refuses it, and says repair would help.
    let error = run("broken.stl", JobRequest { repair: Some(false), ..JobRequest::default() })
        .expect_err("an open sphere is not printable");
    assert!(
        matches!(&error, EngineError::ModelNotPrintable { repaired: false, problems }
            if problems.contains("9 open edges") && problems.contains("edges between faces wound opposite ways")),
        "{error}"
    );
    assert!(error.to_string().contains("turn on `repair`"), "{error}");
    assert!(!out.exists(), "nothing written");
    // Two solids touching at a point: still not printable after repair, and it says where.
    let error = run("bowtie.obj", JobRequest::default()).expect_err("pieces touching at a point");
    assert!(
        matches!(&error, EngineError::ModelNotPrintable { repaired: true, problems }
            if problems.contains("1 vertices where pieces touch")),
        "{error}"
    );
    assert!(!out.exists(), "nothing written");
    // A sound file converts with repair off.
    let input = Input::File { path: &files().join("box.obj"), limits: DecodeLimits::default() };
    let report = cpu()
        .run_to_file(
            &job(JobRequest { repair: Some(false), ..JobRequest::default() }, MeshFormat::Stl),
            input,
            &out,
            &Silent,
        )
        .unwrap();
    assert!(report.model.unwrap().repairs.is_none());
    close("the box", report.check.volume_mm3, 6000.0, 1e-9);
}

#[test]
fn units_scale_fit_center_and_drop_place_the_model() {
    let bounds = |mesh: &IndexedMesh| mesh.bounds();
    // trimesh's box is 10 x 20 x 30, centred on the origin.
    let (_, plain) = convert("box.stl", JobRequest::default(), MeshFormat::Stl);
    assert_eq!(bounds(&plain), ([-5.0, -10.0, -15.0], [5.0, 10.0, 15.0]));
    let (_, cm) = convert(
        "box.stl",
        JobRequest { units: Some(Units::Cm), drop: Some(true), ..JobRequest::default() },
        MeshFormat::Stl,
    );
    assert_eq!(bounds(&cm), ([-50.0, -100.0, 0.0], [50.0, 100.0, 300.0]));
    // Fit inside 60 x 60 x 60: the height (30) sets the factor, 2; then scale 0.5 first.
    let (report, fit) = convert(
        "box.stl",
        JobRequest {
            fit_mm: Some([60.0, 60.0, 60.0]),
            center: Some(true),
            drop: Some(true),
            ..JobRequest::default()
        },
        MeshFormat::ThreeMf,
    );
    assert_eq!(bounds(&fit), ([-10.0, -20.0, 0.0], [10.0, 20.0, 60.0]));
    close("the fitted box", report.check.volume_mm3, 6000.0 * 8.0, 1e-6);
    let (_, scaled) = convert(
        "box.stl",
        JobRequest { scale: Some(0.5), ..JobRequest::default() },
        MeshFormat::Glb,
    );
    // glTF is in metres and +Y up: millimetres and +Z up again to float rounding.
    let (lo, hi) = bounds(&scaled);
    for (got, want) in lo.iter().chain(&hi).zip([-2.5, -5.0, -7.5, 2.5, 5.0, 7.5]) {
        assert!((got - want).abs() < 1e-5, "the scaled box read back from GLB: {lo:?} {hi:?}");
    }
    // Bad values name their field.
    for (request, field) in [
        (JobRequest { scale: Some(0.0), ..JobRequest::default() }, "scale"),
        (JobRequest { fit_mm: Some([10.0, -1.0, 10.0]), ..JobRequest::default() }, "fit_mm"),
        (JobRequest { weld_mm: Some(-1.0), ..JobRequest::default() }, "weld_mm"),
        (
            JobRequest { repair: Some(false), min_shell_mm3: Some(1.0), ..JobRequest::default() },
            "min_shell_mm3",
        ),
        (JobRequest { width_mm: Some(10.0), ..JobRequest::default() }, "width_mm"),
    ] {
        let error = request.build(JobMode::Mesh, None).unwrap_err();
        assert_eq!(error.field, field, "{error}");
    }
}

#[test]
fn every_format_is_written_from_a_mesh_and_reads_back_whole() {
    for format in [
        MeshFormat::Stl,
        MeshFormat::StlAscii,
        MeshFormat::Ply,
        MeshFormat::Obj,
        MeshFormat::ThreeMf,
        MeshFormat::Glb,
    ] {
        let (report, mesh) = convert("torus.off", JobRequest::default(), format);
        let topology = assert_closed_manifold(&format!("torus as {format}"), &mesh);
        assert_eq!((topology.components, topology.euler), (1, 0), "a torus has one handle");
        let want = expected("torus.off")["volume"].as_f64().unwrap();
        let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
        close(&format!("the torus as {format}"), volume, want, 1e-5);
        assert_eq!(report.triangles, mesh.triangles.len() as u64);
        let png = report.thumbnail.expect("a thumbnail");
        assert!(png.starts_with(b"\x89PNG"), "{format}: the thumbnail is a PNG");
    }
}
