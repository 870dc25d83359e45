//! DICOM series as scanners and PACS export them, written by pydicom (and libjpeg-turbo for
//! JPEG Lossless) or shipped by pydicom for its own tests, each read sample for sample as
//! pydicom reads it: shuffled slices sort by position, two series ask for a choice, rescale
//! gives Hounsfield units, an oblique series keeps its millimetres, and every broken series
//! gets its own error.

use std::path::{Path, PathBuf};

use lithos_engine::isosurface::ScalarField;
use lithos_engine::volume::{Part, SeriesUid};
use lithos_engine::{
    DecodeLimits, EngineError, Input, JobKind, JobMode, JobRequest, Silent, Volume, VolumeParams,
    VolumeSource, volume,
};

use crate::helpers::{cpu, output_dir, run_writers};
use crate::mesh_checks::{assert_closed_manifold, volume_and_area};

/// Writes the cases with pydicom (`tests/engine/scripts/dicom_cases.py`) into `dir`; returns
/// each readable case's name and path.
fn cases(dir: &Path) -> Vec<(String, PathBuf)> {
    run_writers("dicom_cases.py", &[dir], "pydicom imagecodecs");
    std::fs::read_to_string(dir.join("manifest.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let (name, path) = line.split_once(' ').unwrap();
            (name.to_owned(), dir.join(path))
        })
        .collect()
}

fn load(path: &Path, series: Option<&str>) -> Result<Volume, EngineError> {
    let part = Part { frame: 0, series: series.map(|s| s.parse().unwrap()) };
    volume::load_part(path, VolumeSource::Detect, part, DecodeLimits::default())
}

fn uid(dir: &Path, which: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{which}-series-uid.txt"))).unwrap()
}

#[test]
fn every_series_reads_as_pydicom_reads_it() {
    let dir = output_dir("dicom-cases");
    let cases = cases(&dir);
    assert!(cases.len() >= 11, "{} cases", cases.len());
    for (name, path) in &cases {
        let volume = load(path, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = std::fs::read(dir.join(format!("{name}.f32"))).unwrap();
        let want: Vec<f32> =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let dims: Vec<usize> = serde_json::from_value(meta["dims"].clone()).unwrap();
        assert_eq!(volume.dims.to_vec(), dims, "{name}: dims");
        let mut got = vec![0.0f32; want.len()];
        volume.read_planes(0, volume.dims[2], &mut got);
        let wrong =
            got.iter().zip(&want).position(|(g, w)| (g - w).abs() > 1e-3 * w.abs().max(1.0));
        if let Some(i) = wrong {
            panic!("{name}: sample {i}: {} != {}", got[i], want[i]);
        }
        if let Some(spacing) = meta["spacing"].as_array() {
            for (k, (got, want)) in volume.spacing_mm.iter().zip(spacing).enumerate() {
                let want = want.as_f64().unwrap() as f32;
                assert!((got - want).abs() < 1e-4, "{name}: spacing {k}: {got} != {want}");
            }
            let axes: Vec<[f32; 3]> = serde_json::from_value(meta["axes"].clone()).unwrap();
            for (k, (got, want)) in volume.orientation.iter().zip(&axes).enumerate() {
                let close = got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-4);
                assert!(close, "{name}: axis {k}: {got:?} != {want:?}");
            }
        }
    }
    // CT stays compact: int16 and uint16 with the rescale applied as planes are read.
    let kept = |name: &str| {
        let path = &cases.iter().find(|c| c.0 == name).unwrap().1;
        load(path, None).unwrap().voxels.type_name()
    };
    assert_eq!(kept("phantom"), "i16");
    assert_eq!(kept("phantom-jpegll"), "u16");
    assert_eq!(kept("rtdose"), "f32");
}

/// The phantom's slices are named and numbered in shuffled order: only their positions sort
/// them. At `iso = bone` the bone cylinder's volume is the cylinder's within 2%, from every
/// encoding of the series.
#[test]
fn the_bone_preset_finds_a_shuffled_ct_series_bone_in_every_encoding() {
    let dir = output_dir("dicom-phantom");
    cases(&dir);
    let request: JobRequest = serde_json::from_value(serde_json::json!({ "iso": "bone" })).unwrap();
    let JobKind::Volume(params, _) = request.build(JobMode::Volume, None).unwrap().kind else {
        panic!("a volume job")
    };
    // Radius 6 mm, 30 slices of 1.25 mm (the surface closes half a slice beyond the outer ones).
    let cylinder = std::f64::consts::PI * 6.0 * 6.0 * 30.0 * 1.25;
    for case in ["phantom", "phantom-rle", "phantom-jpegll"] {
        let volume = load(&dir.join(case), None).unwrap();
        let (mesh, iso) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
        assert_eq!(iso, 300.0);
        assert_closed_manifold(case, &mesh);
        let (bone, _) = volume_and_area(&mesh, |p| p.map(f64::from));
        assert!((bone / cylinder - 1.0).abs() < 0.02, "{case}: {bone:.0} mm³, {cylinder:.0}");
    }
}

/// A box of 16.8 x 14.4 x 22 mm on slices tilted in two axes: a closed mesh, its extents along
/// the slice axes those of the box, its volume the box's.
#[test]
fn an_oblique_series_is_closed_and_keeps_its_millimetres() {
    let dir = output_dir("dicom-oblique");
    cases(&dir);
    let volume = load(&dir.join("oblique"), None).unwrap();
    let params = VolumeParams { iso: Some(0.0), ..VolumeParams::default() };
    let (mesh, _) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
    assert_closed_manifold("oblique", &mesh);
    let size = [16.8, 14.4, 22.0];
    for (k, axis) in volume.orientation.iter().enumerate() {
        let along = |p: &[f32; 3]| (0..3).map(|i| f64::from(p[i] * axis[i])).sum::<f64>();
        let lo = mesh.positions.iter().map(along).fold(f64::MAX, f64::min);
        let hi = mesh.positions.iter().map(along).fold(f64::MIN, f64::max);
        assert!((hi - lo - size[k]).abs() < 0.01, "axis {k}: {:.3} mm, want {}", hi - lo, size[k]);
    }
    let (inside, _) = volume_and_area(&mesh, |p| p.map(f64::from));
    let box_mm3 = size.iter().product::<f64>();
    assert!((inside / box_mm3 - 1.0).abs() < 0.02, "{inside:.0} mm³, box {box_mm3:.0}");
}

#[test]
fn two_series_in_one_zip_ask_for_a_choice_and_series_picks_one() {
    let dir = output_dir("dicom-two-series");
    cases(&dir);
    let zip = dir.join("two-series.zip");
    let (phantom, scout) = (uid(&dir, "phantom"), uid(&dir, "scout"));
    let error = load(&zip, None).unwrap_err();
    let EngineError::SeveralSeries { series } = &error else { panic!("{error}") };
    let uids: Vec<&str> = series.iter().map(|s| s.uid.as_str()).collect();
    assert_eq!(uids, [scout.as_str(), phantom.as_str()], "by series number");
    assert_eq!((series[1].slices, series[1].size), (30, [64, 56]));
    assert!(error.to_string().contains("`series`"), "{error}");
    assert_eq!(load(&zip, Some(&phantom)).unwrap().dims, [64, 56, 30]);
    assert_eq!(load(&zip, Some(&scout)).unwrap().dims, [24, 24, 3]);
    let error = load(&zip, Some("1.2.3.4")).unwrap_err();
    let EngineError::NoSuchSeries { uid, series } = &error else { panic!("{error}") };
    assert_eq!(uid, "1.2.3.4");
    assert_eq!(series.len(), 2);
    assert!(error.to_string().contains(&phantom), "{error}");

    // Through the job: `series` is an option like any other, and a UID is digits and dots.
    let job = JobRequest { series: Some(scout.parse().unwrap()), ..JobRequest::default() }
        .build(JobMode::Volume, None)
        .unwrap();
    let out = dir.join("scout.stl");
    let input = Input::File { path: &zip, limits: DecodeLimits::default() };
    let report = cpu().run_to_file(&job, input, &out, &Silent).unwrap();
    assert_eq!(report.voxels, Some([24, 24, 3]));
    let error = "1.2.x".parse::<SeriesUid>().unwrap_err();
    assert_eq!(error.field, "series");
    assert!("1".repeat(65).parse::<SeriesUid>().is_err(), "UIDs are at most 64 characters");
}

#[test]
fn each_broken_series_gets_its_own_error_and_writes_nothing() {
    let dir = output_dir("dicom-broken");
    cases(&dir);
    let error = load(&dir.join("uneven"), None).unwrap_err();
    let EngineError::DicomGaps { min_mm, max_mm, slices: 29 } = error else { panic!("{error}") };
    assert!((min_mm - 1.25).abs() < 1e-6 && (max_mm - 2.5).abs() < 1e-6, "{min_mm} {max_mm}");
    let error = load(&dir.join("mismatch"), None).unwrap_err();
    let EngineError::SliceSizeMismatch { size: (64, 54), first: (64, 56), .. } = error else {
        panic!("{error}")
    };
    let error = load(&dir.join("notdicom"), None).unwrap_err();
    let EngineError::NotDicom(name) = &error else { panic!("{error}") };
    assert_eq!(name, "IM0099.dcm");
    // A compressed syntax Lithos does not decode is named.
    let error = load(&dir.join("MR_small_jpeg_ls_lossless.dcm"), None).unwrap_err();
    let EngineError::DicomTransferSyntax { syntax, .. } = &error else { panic!("{error}") };
    assert!(syntax.contains("JPEG-LS") && syntax.contains("1.2.840.10008.1.2.4.80"), "{syntax}");
    let error = load(&dir.join("SC_rgb_rle.dcm"), None).unwrap_err();
    assert!(matches!(error, EngineError::UnsupportedDicom(_)), "{error}");
    // And a run that fails writes nothing.
    let job = JobRequest::default().build(JobMode::Volume, None).unwrap();
    let out = dir.join("uneven.stl");
    let input = Input::File { path: &dir.join("uneven"), limits: DecodeLimits::default() };
    assert!(cpu().run_to_file(&job, input, &out, &Silent).is_err());
    assert!(!out.exists());
}

/// No patient attribute leaves the reader: not in a message, not in the mesh.
#[test]
fn no_patient_attribute_reaches_an_output_or_a_message() {
    let dir = output_dir("dicom-privacy");
    cases(&dir);
    let job = JobRequest::default().build(JobMode::Volume, None).unwrap();
    let out = dir.join("phantom.stl");
    let input = Input::File { path: &dir.join("phantom"), limits: DecodeLimits::default() };
    let report = cpu().run_to_file(&job, input, &out, &Silent).unwrap();
    let mut said = std::fs::read(&out).unwrap();
    said.extend(format!("{report:?}").bytes());
    for broken in ["two-series.zip", "uneven", "mismatch", "notdicom"] {
        said.extend(load(&dir.join(broken), None).unwrap_err().to_string().bytes());
    }
    let said = String::from_utf8_lossy(&said);
    for secret in ["Doe^Jane", "Privacy", "PID-7731", "SECRET", "19700101"] {
        assert!(!said.contains(secret), "{secret} leaked");
    }
}
