//! NIfTI as scanners and nibabel write it: every scalar datatype in both byte orders, the
//! standard's scaling (a slope of 0 or NaN is none), the files nibabel ships for its own tests
//! (a big-endian int16 MRI, 4-D series), each read sample for sample as nibabel reads it.

use std::path::{Path, PathBuf};

use lithos_engine::isosurface::ScalarField;
use lithos_engine::volume::{IsoValue, Part};
use lithos_engine::{
    DecodeLimits, EngineError, Input, JobMode, JobRequest, Silent, VolumeSource, volume,
};

use crate::helpers::{cpu, output_dir, run_writers};
use crate::mesh_checks::assert_closed_manifold;

/// Writes the cases with nibabel (`tests/engine/scripts/nifti_cases.py`) into `dir`; returns
/// each case's name, file and frame.
fn cases(dir: &Path) -> Vec<(String, PathBuf, usize)> {
    run_writers("nifti_cases.py", &[dir], "nibabel");
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    manifest
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let (name, file, frame) = (parts.next(), parts.next(), parts.next());
            (name.unwrap().to_owned(), dir.join(file.unwrap()), frame.unwrap().parse().unwrap())
        })
        .collect()
}

/// nibabel's values of a case, x fastest.
fn expected(dir: &Path, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(dir.join(format!("{name}.f32"))).unwrap();
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

#[test]
fn every_datatype_byte_order_and_scaling_reads_as_nibabel_reads_it() {
    let dir = output_dir("nifti-cases");
    let cases = cases(&dir);
    assert!(cases.len() >= 70, "{} cases", cases.len());
    for (name, path, frame) in &cases {
        let volume = volume::load_part(
            path,
            VolumeSource::Detect,
            Part::frame(*frame),
            DecodeLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = expected(&dir, name);
        assert_eq!(volume.dims.iter().product::<usize>(), want.len(), "{name}: dims");
        let mut got = vec![0.0f32; want.len()];
        volume.read_planes(0, volume.dims[2], &mut got);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{name}: sample {i}: {g} != {w}");
        }
        // Integers stay compact, scaled or not: an int16 CT stays 2 bytes a sample.
        let kept = match &name[..2] {
            "u1" => "u8",
            "u2" => "u16",
            "i1" | "i2" | "ph" => "i16",
            "ni" => volume.voxels.type_name(),
            _ => "f32",
        };
        assert_eq!(volume.voxels.type_name(), kept, "{name}");
        if !name.starts_with("nibabel") && name != "phantom" {
            assert_eq!(volume.spacing_mm, [0.8, 0.9, 1.5], "{name}: spacing from the header");
        }
    }
    // The scanner's MRI of the issue: big-endian int16 with a NaN slope.
    let mri = cases.iter().find(|c| c.0 == "nibabel-anatomical-0").unwrap();
    let volume = volume::load(&mri.1, VolumeSource::Detect, DecodeLimits::default()).unwrap();
    assert_eq!((volume.dims, volume.voxels.type_name()), ([33, 41, 25], "i16"));
    let (lo, hi) = volume.range();
    assert!(lo.is_finite() && hi > lo, "real values, not NaN: {lo}..{hi}");
}

#[test]
fn a_4d_series_meshes_the_frame_asked_for_and_says_how_many_there_are() {
    let dir = output_dir("nifti-4d");
    let cases = cases(&dir);
    let series = &cases.iter().find(|c| c.0 == "nibabel-example4d-1").unwrap().1;
    let job = |frame: u32| {
        JobRequest { frame: Some(frame), ..JobRequest::default() }.build(JobMode::Volume, None)
    };
    let input = Input::File { path: series, limits: DecodeLimits::default() };
    let mut meshes = Vec::new();
    for frame in [0, 1] {
        let out = dir.join(format!("frame{frame}.stl"));
        let report = cpu().run_to_file(&job(frame).unwrap(), input, &out, &Silent).unwrap();
        assert!(report.triangles > 1000, "frame {frame}: {} triangles", report.triangles);
        assert_eq!(report.voxels, Some([128, 96, 24]));
        let part = Part::frame(frame as usize);
        let volume =
            volume::load_part(series, VolumeSource::Detect, part, DecodeLimits::default()).unwrap();
        let params = lithos_engine::VolumeParams::default();
        let (mesh, _) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
        assert_closed_manifold(&format!("frame {frame}"), &mesh);
        meshes.push(volume);
    }
    assert_ne!(meshes[0].voxels, meshes[1].voxels, "two frames, two volumes");
    let error =
        cpu().run_to_file(&job(2).unwrap(), input, &dir.join("no.stl"), &Silent).unwrap_err();
    let EngineError::InvalidParameter(p) = &error else { panic!("{error}") };
    assert_eq!(p.field, "frame");
    assert!(p.message.contains("holds 2 volumes (frames 0 to 1)"), "{}", p.message);
    assert!(!dir.join("no.stl").exists(), "nothing written");
    // A one-volume input has no frames to pick.
    let single = &cases.iter().find(|c| c.0 == "nibabel-anatomical-0").unwrap().1;
    let error =
        volume::load_part(single, VolumeSource::Detect, Part::frame(1), DecodeLimits::default())
            .unwrap_err();
    assert!(error.to_string().contains("holds 1 volume"), "{error}");
}

/// A CT phantom stored as scanners store it (int16 of HU + 1024, rescaled by the header): at
/// `iso = bone` its bone cylinder's volume is the cylinder's, within 2%.
#[test]
fn the_bone_preset_finds_a_phantom_s_bone() {
    let dir = output_dir("nifti-phantom");
    let cases = cases(&dir);
    let phantom = &cases.iter().find(|c| c.0 == "phantom").unwrap().1;
    let volume = volume::load(phantom, VolumeSource::Detect, DecodeLimits::default()).unwrap();
    assert_eq!(volume.voxels.type_name(), "i16", "rescaled, still 2 bytes a sample");
    let request: JobRequest = serde_json::from_value(serde_json::json!({ "iso": "bone" })).unwrap();
    let job = request.build(JobMode::Volume, None).unwrap();
    let lithos_engine::JobKind::Volume(params, _) = &job.kind else { panic!("a volume job") };
    assert_eq!(params.iso, Some(300.0), "bone is 300 HU");
    let (mesh, iso) = cpu().volume(&volume, params, &Silent, &mut Vec::new()).unwrap();
    assert_eq!(iso, 300.0);
    assert_closed_manifold("bone", &mesh);
    let (bone, _) = crate::mesh_checks::volume_and_area(&mesh, |p| p.map(f64::from));
    // Radius 10 mm, 40 slices of 1 mm (the surface closes half a slice beyond the outer ones).
    let cylinder = std::f64::consts::PI * 10.0 * 10.0 * 40.0;
    assert!((bone / cylinder - 1.0).abs() < 0.02, "bone {bone:.0} mm³, cylinder {cylinder:.0}");
    // And skin finds the body, a cylinder of radius 20 mm.
    let skin = JobRequest { iso: Some("skin".parse().unwrap()), ..JobRequest::default() };
    let lithos_engine::JobKind::Volume(params, _) = skin.build(JobMode::Volume, None).unwrap().kind
    else {
        panic!("a volume job")
    };
    let (mesh, _) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
    let (body, _) = crate::mesh_checks::volume_and_area(&mesh, |p| p.map(f64::from));
    let expected = std::f64::consts::PI * 20.0 * 20.0 * 40.0;
    assert!((body / expected - 1.0).abs() < 0.02, "body {body:.0} mm³, cylinder {expected:.0}");
    // A name that is no preset is refused, naming them.
    let error = "marrow".parse::<IsoValue>().unwrap_err();
    assert!(error.message.contains("bone, soft-tissue, skin"), "{error}");
}
