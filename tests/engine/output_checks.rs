//! Every output's check ([`lithos_engine::check`]) against an independent reading of the file
//! written: the check's volume and shells must be what the STL holds, in every mode, on both
//! backends, and the run reports the check as a stage.

use lithos_engine::check::Check;
use lithos_engine::inspect::inspect_stl;
use lithos_engine::{Input, JobMode, JobRequest, MeshFormat, Silent, Stage};
use serde_json::json;

use crate::helpers::{engines, horse_with_alpha, random_gray, random_rgba};

#[test]
fn every_mode_reports_the_check_of_what_it_wrote() {
    let image = random_gray(21, 48, 40);
    let horse = horse_with_alpha();
    let volume = lithos_engine::Volume::new(
        [24; 3],
        lithos_engine::volume::Voxels::F32(
            (0..24 * 24 * 24)
                .map(|i| {
                    let (x, y, z) = (i % 24, i / 24 % 24, i / 576);
                    let d = |v: usize| v as f32 - 11.5;
                    // A hollow ball: a shell between radii 5 and 9, its cavity a second shell.
                    let r = (d(x) * d(x) + d(y) * d(y) + d(z) * d(z)).sqrt();
                    if (5.0..9.0).contains(&r) { 1.0 } else { 0.0 }
                })
                .collect(),
        ),
    );
    let cases: Vec<(&str, JobMode, serde_json::Value, Input)> = vec![
        ("relief", JobMode::Relief, json!({}), Input::Image(&image)),
        ("adaptive relief", JobMode::Relief, json!({ "max_error_mm": 0.05 }), Input::Image(&image)),
        ("lithophane arc", JobMode::Lithophane, json!({ "shape": "arc" }), Input::Image(&image)),
        ("lithophane dome", JobMode::Lithophane, json!({ "shape": "dome" }), Input::Image(&image)),
        ("solid", JobMode::Solid, json!({ "max_grid": 64 }), Input::Image(&horse)),
        ("hollow ball", JobMode::Volume, json!({ "iso": 0.5 }), Input::Volume(&volume)),
    ];
    for engine in engines() {
        for (label, mode, params, input) in &cases {
            let label = format!("{label} on {}", engine.adapter());
            let request: JobRequest = serde_json::from_value(params.clone()).unwrap();
            let job = request.build(*mode, Some(MeshFormat::Stl)).unwrap();
            let mut stl = Vec::new();
            let report = engine.run(&job, *input, &mut stl, &Silent).unwrap();
            let check = report.check;
            assert!(check.passed(), "{label}: {check:?}");
            assert!(report.stages.iter().any(|s| s.stage == Stage::Check), "{label}: a stage");
            let written = inspect_stl(std::io::Cursor::new(&stl)).unwrap();
            assert!(written.is_closed_manifold(), "{label}: the file is closed too");
            assert_eq!(check.triangles, written.triangles as u64, "{label}: triangles");
            assert_eq!(check.shells, written.components as u64, "{label}: shells");
            assert!(
                (check.volume_mm3 - written.volume).abs() <= 1e-4 * written.volume.abs(),
                "{label}: the check's volume {} against the file's {}",
                check.volume_mm3,
                written.volume
            );
        }
    }
}

#[test]
fn a_heightfield_checked_in_small_bands_counts_as_checked_whole() {
    // Bands of a few rows read only the triangles near them (`Parts::triangles_touching`):
    // a masked relief (several regions with walls and floors), an adaptive one and an arc
    // must count the same in bands of 50, 997 and 20,000 corners as whole.
    let horse = horse_with_alpha();
    let image = random_gray(5, 40, 30);
    let cases: Vec<(&str, serde_json::Value, &lithos_engine::SourceImage)> = vec![
        ("masked relief", json!({ "mask": "alpha", "max_grid": 64 }), &horse),
        ("adaptive relief", json!({ "max_error_mm": 0.05 }), &image),
        ("arc", json!({ "shape": "arc" }), &image),
    ];
    for (label, params, source) in cases {
        let request: JobRequest = serde_json::from_value(params).unwrap();
        let job = request.build(JobMode::Relief, None).unwrap();
        let params = job.image_params().unwrap();
        let hf =
            crate::helpers::cpu().heightfield(source, params, &Silent, &mut Vec::new()).unwrap();
        let whole = Check::of_heightfield_in_bands(&hf, usize::MAX).unwrap();
        assert!(whole.passed() && whole.triangles > 0, "{label}: {whole:?}");
        for budget in [50, 997, 20_000] {
            let banded = Check::of_heightfield_in_bands(&hf, budget).unwrap();
            assert!(
                (banded.volume_mm3 - whole.volume_mm3).abs() <= 1e-9 * whole.volume_mm3.abs(),
                "{label} in bands of {budget}: volume"
            );
            assert_eq!(
                Check { volume_mm3: 0.0, ..banded },
                Check { volume_mm3: 0.0, ..whole },
                "{label} in bands of {budget}"
            );
        }
    }
}

/// A flat panel is checked from its structure (only its rim as a general mesh): on plain
/// reliefs and lithophanes, and on masks with curved outlines, holes, islands and single
/// pixels, that check must find what the general check finds, and a panel it cannot find
/// sound goes to the general check, which says what is wrong.
#[test]
fn a_panel_checked_from_its_structure_counts_as_the_general_check() {
    let engine = crate::helpers::cpu();
    let mut cases: Vec<(String, JobMode, serde_json::Value, lithos_engine::SourceImage)> = vec![
        ("relief".into(), JobMode::Relief, json!({}), random_gray(3, 48, 40)),
        ("lithophane".into(), JobMode::Lithophane, json!({}), random_gray(4, 33, 61)),
        (
            "horse".into(),
            JobMode::Relief,
            json!({ "mask": "alpha", "max_grid": 96 }),
            horse_with_alpha(),
        ),
    ];
    for seed in 0..12 {
        let image = random_rgba(seed, 40 + seed as u32, 36);
        cases.push((
            format!("random mask {seed}"),
            JobMode::Relief,
            json!({ "mask": "alpha" }),
            image,
        ));
    }
    for (label, mode, params, image) in &cases {
        let request: JobRequest = serde_json::from_value(params.clone()).unwrap();
        let job = request.build(*mode, None).unwrap();
        let params = job.image_params().unwrap();
        let hf = engine.heightfield(image, params, &Silent, &mut Vec::new()).unwrap();
        let general = Check::of_heightfield_in_bands(&hf, usize::MAX).unwrap();
        assert!(general.passed(), "{label}: {general:?}");
        let proved = Check::of_heightfield_by_structure(&hf)
            .unwrap_or_else(|| panic!("{label}: a sound panel is proved from its structure"));
        assert!(
            (proved.volume_mm3 - general.volume_mm3).abs() <= 1e-9 * general.volume_mm3,
            "{label}: volume {} against {}",
            proved.volume_mm3,
            general.volume_mm3
        );
        assert_eq!(
            Check { volume_mm3: 0.0, ..proved },
            Check { volume_mm3: 0.0, ..general },
            "{label}"
        );
        assert!(general.shells > 1 || !label.starts_with("random"), "{label}: several regions");
    }

    // A panel below its floor encloses negative volume: not proved, and the general check
    // says it is inside out.
    let (width, height) = (9, 7);
    let inverted = lithos_engine::Heightfield {
        width,
        height,
        pitch_mm: 0.5,
        thickness: vec![-1.0; (width * height) as usize],
        cells: lithos_engine::mesh::Cells::Full { width: width - 1, height: height - 1 },
        bend: None,
        surface: None,
        columns: None,
    };
    assert_eq!(Check::of_heightfield_by_structure(&inverted), None);
    let check = Check::of_heightfield(&inverted).unwrap();
    assert_eq!((check.inverted_shells, check.passed()), (1, false), "{check:?}");
}
