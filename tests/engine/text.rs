//! Text to 3D: letters keep their counters (a genus per hole), touching letters merge, plates
//! join the rest into one closed solid of the height asked for, and the solid's volume is its
//! outline's area times its depth. Read from the bundled font (DejaVu Sans Bold) and from
//! fonts fontTools wrote: TrueType (quadratic) and CFF (cubic) outlines.

use std::collections::HashSet;

use lithos_engine::check::Check;
use lithos_engine::text::{Font, Layout, Plan, TextParams};
use lithos_engine::{EngineError, IndexedMesh, Input, JobMode, JobRequest, Silent};
use serde_json::json;

use crate::helpers::{cpu, output_dir, run_writers};

/// The text job's parameters from the request the CLI and the API take.
fn params(request: serde_json::Value) -> TextParams {
    let request: JobRequest = serde_json::from_value(request).unwrap();
    let job = request.build(JobMode::Text, None).unwrap();
    *job.text_params().expect("a text job")
}

fn make(font: &Font<'_>, params: &TextParams) -> (IndexedMesh, Plan) {
    cpu().text(font, params, &Silent, &mut Vec::new()).unwrap()
}

/// Holes through the mesh, over all its shells, from Euler's formula: V - E + F = 2 (S - G).
fn holes(mesh: &IndexedMesh, check: &Check) -> i64 {
    let used: HashSet<u32> = mesh.triangles.iter().flatten().copied().collect();
    let (v, f) = (used.len() as i64, mesh.triangles.len() as i64);
    let euler = v - 3 * f / 2 + f;
    (2 * check.shells as i64 - euler) / 2
}

fn checked(mesh: &IndexedMesh, label: &str) -> Check {
    let check = Check::of_mesh(&mesh.positions, &mesh.triangles);
    assert!(check.passed(), "{label}: {check:?}");
    check
}

#[test]
fn each_glyph_keeps_its_counters_as_holes() {
    let font = Font::bundled();
    // Letters whose counters are holes through them, and how many pieces each is.
    for (letters, counters, shells) in [
        ("B", 2, 1),
        ("o", 1, 1),
        ("A", 1, 1),
        ("e", 1, 1),
        ("8", 2, 1),
        ("x", 0, 1),
        ("i", 0, 2),
        ("%", 2, 3),
    ] {
        let p = params(json!({ "text": letters, "layout": "solid", "letter_height_mm": 10 }));
        let (mesh, _) = make(&font, &p);
        let check = checked(&mesh, letters);
        assert_eq!(check.shells, shells, "{letters}: pieces");
        assert_eq!(holes(&mesh, &check), counters, "{letters}: counters");
    }
}

#[test]
fn touching_letters_merge_and_the_others_stay_apart() {
    let font = Font::bundled();
    let apart = params(json!({ "text": "OO", "layout": "solid", "letter_height_mm": 10 }));
    let (mesh, _) = make(&font, &apart);
    let check = checked(&mesh, "apart");
    assert_eq!((check.shells, holes(&mesh, &check)), (2, 2));
    // Pulled together until they overlap: one piece, both counters kept.
    let touching = TextParams { letter_spacing_mm: -2.5, ..apart };
    let (mesh, _) = make(&font, &touching);
    let check = checked(&mesh, "touching");
    assert_eq!((check.shells, holes(&mesh, &check)), (1, 2));
}

#[test]
fn a_plate_joins_the_letters_into_one_solid_of_the_height_asked_for() {
    let font = Font::bundled();
    // The keychain's ring is its one hole; counters sit on the plate, not through it.
    for (layout, holes_through) in [(Layout::Plate, 0), (Layout::Keychain, 1), (Layout::Sign, 0)] {
        let p = params(json!({
            "text": "Lia & Bo\nx8", "layout": layout.name(), "letter_height_mm": 8, "depth_mm": 1.5,
            "plate_mm": 2.5,
        }));
        let (mesh, _) = make(&font, &p);
        let label = layout.name();
        let check = checked(&mesh, label);
        assert_eq!(check.shells, 1, "{label}: one piece");
        assert_eq!(holes(&mesh, &check), holes_through, "{label}: holes");
        let (lo, hi) = mesh.bounds();
        assert!(lo[2].abs() < 1e-4, "{label}: on the bed, lowest {}", lo[2]);
        assert!((hi[2] - 4.0).abs() < 1e-3, "{label}: plate and letters 4 mm, got {}", hi[2]);
    }
}

#[test]
fn capitals_are_as_tall_as_asked_and_the_volume_is_area_times_depth() {
    let font = Font::bundled();
    let p = params(json!({
        "text": "HELLO 3D", "layout": "solid", "letter_height_mm": 12, "depth_mm": 3, "bevel_mm": 0,
    }));
    let (mesh, plan) = make(&font, &p);
    let check = checked(&mesh, "HELLO 3D");
    let (lo, hi) = mesh.bounds();
    // DejaVu's capitals stand on the baseline and reach the cap height; the O overshoots it a
    // little, as round letters do.
    let pitch = f64::from(p.pitch_mm());
    let height = f64::from(hi[1] - lo[1]);
    assert!((12.0..12.0 + 0.35 + pitch).contains(&height), "cap height {height}");
    assert!((hi[2] - 3.0).abs() < 1e-3, "depth {}", hi[2]);
    let expected = plan.area_mm2() * 3.0;
    let error = (check.volume_mm3 - expected).abs() / expected;
    assert!(error < 0.01, "volume {} against area x depth {expected}", check.volume_mm3);
}

#[test]
fn fonts_written_by_fonttools_read_the_same_in_quadratic_and_cubic_outlines() {
    let dir = output_dir("fonts");
    run_writers("fonts.py", &[&dir], "fonttools");
    let shapes: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("shapes.json")).unwrap()).unwrap();
    let cap = shapes["cap"].as_f64().unwrap();
    for file in ["quadratic.ttf", "cubic.otf"] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let font = Font::parse(&bytes).unwrap();
        for (letter, shape) in shapes["glyphs"].as_object().unwrap() {
            let label = format!("{letter} from {file}");
            let p = params(json!({
                "text": letter, "layout": "solid", "letter_height_mm": 14, "depth_mm": 2, "bevel_mm": 0,
            }));
            let (mesh, plan) = make(&font, &p);
            let check = checked(&mesh, &label);
            assert_eq!(check.shells, shape["shells"].as_u64().unwrap(), "{label}: pieces");
            assert_eq!(holes(&mesh, &check), shape["holes"].as_i64().unwrap(), "{label}: holes");
            if let Some(area) = shape["area"].as_f64() {
                // Font units to millimetres: the cap height (700 units) is 14 mm.
                let area_mm2 = area * (14.0 / cap).powi(2);
                let outline = (plan.area_mm2() - area_mm2).abs() / area_mm2;
                assert!(outline < 2e-3, "{label}: outline area {} vs {area_mm2}", plan.area_mm2());
                let volume = (check.volume_mm3 - 2.0 * area_mm2).abs() / (2.0 * area_mm2);
                assert!(volume < 0.01, "{label}: volume {}", check.volume_mm3);
            }
        }
    }
}

#[test]
fn a_file_that_is_not_a_font_and_a_letter_the_font_lacks_are_named() {
    let not_a_font = std::fs::read(crate::helpers::data("horse.png")).unwrap();
    let e = Font::parse(&not_a_font).expect_err("a PNG is not a font");
    assert!(e.to_string().contains("not a font"), "{e}");
    // Values past the table's bounds are refused by name before anything is laid out.
    for (name, value) in
        [("letter_spacing_mm", 1e300), ("line_spacing", 0.1), ("letter_height_mm", 0.5)]
    {
        let request: JobRequest =
            serde_json::from_value(json!({ "text": "Hi", name: value })).unwrap();
        let e = request.build(JobMode::Text, None).unwrap_err();
        assert_eq!(e.field, name, "{e:?}");
    }
    let p = params(json!({ "text": "Hi 日本" }));
    let e = cpu().text(&Font::bundled(), &p, &Silent, &mut Vec::new()).err().unwrap();
    assert!(matches!(e, EngineError::MissingGlyph { ch: '日', .. }), "{e}");
    assert!(e.to_string().contains("U+65E5") && e.to_string().contains("DejaVu"), "{e}");
}

#[test]
fn a_text_job_runs_through_the_engine_with_its_font_as_input() {
    let dir = output_dir("fonts-run");
    run_writers("fonts.py", &[&dir], "fonttools");
    let request: JobRequest =
        serde_json::from_value(json!({ "text": "HOT", "layout": "keychain" })).unwrap();
    let job = request.build(JobMode::Text, None).unwrap();
    let bytes = std::fs::read(dir.join("cubic.otf")).unwrap();
    let limits = lithos_engine::DecodeLimits::default();
    for input in [Input::Encoded { bytes: &bytes, limits }, Input::None] {
        let mut stl = Vec::new();
        let report = cpu().run(&job, input, &mut stl, &Silent).unwrap();
        assert!(report.check.passed() && report.check.shells == 1, "{:?}", report.check);
        let read = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(&stl)).unwrap();
        assert!(read.is_closed_manifold());
        assert!((read.volume - report.check.volume_mm3).abs() < 1e-3 * read.volume);
    }
}
