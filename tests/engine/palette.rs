//! Multi-colour layer reliefs (`palette`): heights in whole layers, swaps that rise, one
//! printable solid on both backends, colour changes PrusaSlicer slices at the right layers,
//! and expected colours closer to the image than one filament's.

use std::process::Command;

use lithos_engine::palette::Swap;
use lithos_engine::{Input, Job, JobMode, JobRequest, MeshFormat, Silent};
use serde_json::{Value, json};

use crate::formats::{lib3mf, tool};
use crate::helpers::{assert_printable, engines, load, output_dir};

const LAYER_MM: f64 = 0.08;
const BASE_LAYERS: u32 = 4;
/// Dark to light, as HueForge prints are stacked.
const PALETTE: &str = "#1a1a1a:0.6,#3a6ea5:1.0,#c8c8c8:1.5,#ffffff:3";

fn job(request: Value, format: MeshFormat) -> Job {
    let request: JobRequest = serde_json::from_value(request).unwrap();
    request.build(JobMode::Relief, Some(format)).unwrap()
}

fn palette_job(palette: &str, format: MeshFormat) -> Job {
    job(
        json!({
            "palette": palette, "layer_mm": LAYER_MM, "base_layers": BASE_LAYERS,
            "relief_mm": 1.6, "max_grid": 96, "width_mm": 24.0,
        }),
        format,
    )
}

#[test]
fn heights_are_whole_layers_and_the_swaps_rise_alike_on_both_backends() {
    let image = load("camera.png");
    let job = palette_job(PALETTE, MeshFormat::Stl);
    let params = job.image_params().unwrap();
    let mut meshes = Vec::new();
    for engine in engines() {
        let label = format!("palette on {}", engine.adapter());
        let (hf, plan) =
            engine.planned_heightfield(&image, params, &Silent, &mut Vec::new()).unwrap();
        let plan = plan.expect("a palette relief is planned");
        for t in &hf.thickness {
            let layers = f64::from(*t) / LAYER_MM;
            assert!((layers - layers.round()).abs() < 1e-4, "{label}: {t} mm is not a whole layer");
            assert!(layers.round() as u32 >= BASE_LAYERS, "{label}: {t} mm is inside the base");
        }
        let swaps = plan.swaps();
        assert_eq!(swaps.len(), 3, "{label}: a swap per filament after the first");
        let top = BASE_LAYERS + (1.6 / LAYER_MM).round() as u32;
        for (i, swap) in swaps.iter().enumerate() {
            assert_eq!(swap.filament, i + 2, "{label}");
            assert!(swap.layer > BASE_LAYERS && swap.layer <= top, "{label}: {swap:?}");
            assert!(
                (swap.z_mm - f64::from(swap.layer) * LAYER_MM).abs() < 1e-6,
                "{label}: {swap:?}"
            );
        }
        assert!(swaps.windows(2).all(|w| w[0].layer < w[1].layer), "{label}: {swaps:?}");
        // A brighter shade never tops out lower.
        assert!(plan.level_layer.windows(2).all(|w| w[0] <= w[1]), "{label}");
        let mut stl = Vec::new();
        engine.write_mesh(&hf, MeshFormat::Stl, &mut stl, &Silent).unwrap();
        assert_printable(&label, &hf, &stl);
        meshes.push((swaps, hf.thickness));
    }
    // The same plan on every backend. The backends' thickness maps agree to float rounding,
    // so a point that lies on a shade's boundary may snap to the layer beside it.
    for other in &meshes[1..] {
        assert_eq!(other.0, meshes[0].0, "the same swaps on every backend");
        let differ: Vec<f32> = other
            .1
            .iter()
            .zip(&meshes[0].1)
            .map(|(a, b)| (a - b).abs())
            .filter(|d| *d > 0.0)
            .collect();
        assert!(
            differ.len() * 1000 <= other.1.len(),
            "{} of {} points",
            differ.len(),
            other.1.len()
        );
        assert!(differ.iter().all(|d| *d < LAYER_MM as f32 * 1.01), "at most a layer apart");
    }
}

/// The `;Z:` of each layer that PrusaSlicer's G-code changes filament (M600) in.
fn colour_change_heights(gcode: &str) -> Vec<f64> {
    let mut z = 0.0;
    let mut heights = Vec::new();
    for line in gcode.lines() {
        if let Some(value) = line.strip_prefix(";Z:") {
            z = value.trim().parse().unwrap();
        } else if line.trim() == "M600" {
            heights.push(z);
        }
    }
    heights
}

#[test]
fn prusaslicer_slices_the_3mf_with_a_colour_change_at_each_swap() {
    let job = palette_job(PALETTE, MeshFormat::ThreeMf);
    let dir = output_dir("palette");
    let path = dir.join("camera-palette.3mf");
    let image = load("camera.png");
    let report = crate::helpers::cpu()
        .run_to_file(&job, Input::Image(&image), &path, &Silent)
        .expect("the palette relief converts");
    let swaps: Vec<Swap> = report.swaps.clone();
    assert_eq!(swaps.len(), 3);
    // The report's JSON lists them.
    let printed = serde_json::to_value(&report).unwrap();
    assert_eq!(printed["swaps"].as_array().unwrap().len(), 3, "{printed}");
    assert_eq!(printed["swaps"][0]["layer"], json!(swaps[0].layer));

    // Both slicers' forms are in the package, with the same heights.
    let file = std::fs::File::open(&path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    for (part, attribute) in [
        ("Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml", "print_z"),
        ("Metadata/custom_gcode_per_layer.xml", "top_z"),
    ] {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(part).unwrap(), &mut text).unwrap();
        let heights: Vec<f64> = text
            .split(&format!("{attribute}=\""))
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(heights, swaps.iter().map(|s| s.z_mm).collect::<Vec<_>>(), "{part}");
        assert_eq!(text.matches("gcode=\"M600\"").count(), 3, "{part}");
    }
    if let Some(objects) = lib3mf(&path) {
        assert_eq!(objects["warnings"], json!([]), "lib3mf reads it cleanly: {objects}");
        assert_eq!(objects["build_items"], json!(1), "{objects}");
    }

    let found = Command::new("prusa-slicer").arg("--help").output().is_ok();
    if !tool("prusa-slicer", found) {
        return;
    }
    let gcode = dir.join("camera-palette.gcode");
    let layer = LAYER_MM.to_string();
    let out = Command::new("prusa-slicer")
        .args(["--export-gcode", "--layer-height", &layer, "--first-layer-height", &layer])
        .arg("-o")
        .arg(&gcode)
        .arg(&path)
        .output()
        .expect("prusa-slicer runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let gcode = std::fs::read_to_string(&gcode).unwrap();
    let heights = colour_change_heights(&gcode);
    assert_eq!(heights.len(), swaps.len(), "an M600 per swap");
    for (z, swap) in heights.iter().zip(&swaps) {
        assert!((z - swap.z_mm).abs() < 1e-6, "M600 before the layer at {z}, swap {swap:?}");
    }
    let layers = gcode.lines().filter(|l| l.starts_with(";LAYER_CHANGE")).count() as u32;
    assert_eq!(layers, BASE_LAYERS + 20, "every layer printed");
}

/// The mean absolute difference between the expected colours' luma and the image's
/// brightness, both on the preview's grid (the image area-averaged to it).
fn colour_error(palette: &str) -> f64 {
    let mut job = palette_job(palette, MeshFormat::Stl);
    job.backlit = true;
    let image = load("camera.png");
    let report =
        crate::helpers::cpu().run(&job, Input::Image(&image), std::io::sink(), &Silent).unwrap();
    let colours = report.colours.expect("the expected colours, when asked for");
    let source = image::open(crate::helpers::data("camera.png")).unwrap().to_luma32f();
    let (w, h) = colours.dimensions();
    let source = image::imageops::resize(&source, w, h, image::imageops::FilterType::Triangle);
    let mut sum = 0.0;
    for (c, y) in colours.pixels().zip(source.pixels()) {
        assert_eq!(c[3], 255, "an unmasked relief is opaque everywhere");
        let luma = 0.2126 * f64::from(c[0]) + 0.7152 * f64::from(c[1]) + 0.0722 * f64::from(c[2]);
        sum += (luma / 255.0 - f64::from(y[0])).abs();
    }
    sum / f64::from(w * h)
}

#[test]
fn the_expected_colours_match_the_image_better_than_one_filament() {
    let coloured = colour_error(PALETTE);
    let white = colour_error("#ffffff:3");
    let black_and_white = colour_error("#1a1a1a:0.6,#ffffff:3");
    eprintln!(
        "mean luma error: four filaments {coloured:.4}, two {black_and_white:.4}, one {white:.4}"
    );
    assert!(coloured < 0.06, "four filaments: mean error {coloured}");
    assert!(coloured < white / 3.0, "four filaments {coloured} vs one {white}");
    assert!(black_and_white < white / 2.0, "two filaments {black_and_white} vs one {white}");
}

#[test]
fn palettes_are_refused_where_they_cannot_work() {
    let refused = |request: Value, field: &str| {
        let request: JobRequest = serde_json::from_value(request).unwrap();
        let error = request.build(JobMode::Relief, None).unwrap_err();
        assert_eq!(error.field, field, "{error}");
    };
    refused(json!({ "palette": PALETTE, "shape": "arc" }), "palette");
    refused(json!({ "layer_mm": 0.1 }), "layer_mm");
    refused(json!({ "base_layers": 3 }), "base_layers");
    refused(json!({ "palette": PALETTE, "base_layers": 3, "base_mm": 1.0 }), "base_layers");
    refused(json!({ "palette": PALETTE, "layer_mm": 5.0 }), "layer_mm");
    // Four filaments need three layers above the base.
    let request: JobRequest =
        serde_json::from_value(json!({ "palette": PALETTE, "relief_mm": 0.16 })).unwrap();
    let job = request.build(JobMode::Relief, None).unwrap();
    let error = crate::helpers::cpu()
        .run(&job, Input::Image(&load("camera.png")), std::io::sink(), &Silent)
        .unwrap_err();
    assert!(error.is_invalid_parameter(), "{error}");
    assert!(error.to_string().contains("palette"), "{error}");
    let bad = serde_json::from_value::<JobRequest>(json!({ "palette": "#12345:1" }));
    assert!(bad.unwrap_err().to_string().contains("colour"), "a typed error naming the colour");
}
