//! Every output's thumbnail: non-blank, shaded, the whole model in frame, and the same picture
//! from the GPU's render pass (on lavapipe) as from the CPU rasteriser.

use lithos_engine::params::GridSize;
use lithos_engine::thumbnail::{self, MAX_CELLS, SIDE, Shaded};
use lithos_engine::{Engine, Input, Job, JobKind, MeshFormat, Silent};

use crate::exports::ball;
use crate::helpers::{convert, cpu, engines, gpu, horse_with_alpha, load, output_dir, relief};

/// What each test case draws: a relief, a masked relief of many regions, a solid and an
/// isosurface.
fn cases(engine: &Engine) -> Vec<(&'static str, Vec<Shaded>)> {
    let camera = load("camera.png");
    let (hf, _) = convert(engine, &camera, &relief(80.0));
    let coins = load("coins.png");
    let mut masked = relief(80.0);
    masked.mask = Some(lithos_engine::params::Mask {
        source: lithos_engine::MaskSource::Threshold,
        threshold: 0.5,
    });
    let (coins, _) = convert(engine, &coins, &masked);
    let horse = horse_with_alpha();
    let params =
        lithos_engine::ConvertParams { grid: GridSize { max: 96, exact: None }, ..relief(40.0) };
    let solid = engine
        .solid(&horse, &params, &lithos_engine::SolidParams::default(), &Silent, &mut Vec::new())
        .unwrap();
    vec![
        ("relief", thumbnail::heightfield_triangles(&hf)),
        ("masked-relief", thumbnail::heightfield_triangles(&coins)),
        ("solid", thumbnail::mesh_triangles(&solid)),
        ("isosurface", thumbnail::mesh_triangles(&ball())),
    ]
}

/// The box around the opaque pixels: `[x0, y0, x1, y1]`, inclusive.
fn opaque_box(image: &image::RgbaImage) -> Option<[u32; 4]> {
    let mut found: Option<[u32; 4]> = None;
    for (x, y, p) in image.enumerate_pixels() {
        if p[3] == 0 {
            continue;
        }
        let b = found.get_or_insert([x, y, x, y]);
        *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    found
}

#[test]
fn thumbnails_are_shaded_and_frame_the_whole_model() {
    for (label, triangles) in cases(cpu()) {
        let image = cpu().thumbnail(&triangles).unwrap();
        image.save(output_dir("thumbnails").join(format!("{label}.png"))).unwrap();
        assert_eq!(image.dimensions(), (SIDE, SIDE));
        let opaque = image.pixels().filter(|p| p[3] == 255).count() as f64 / f64::from(SIDE * SIDE);
        assert!(opaque > 0.05, "{label}: not blank ({opaque:.3} covered)");
        assert!(image.pixels().all(|p| p[3] == 0 || p[3] == 255), "{label}: model or background");
        let shades: std::collections::HashSet<[u8; 3]> =
            image.pixels().filter(|p| p[3] == 255).map(|p| [p[0], p[1], p[2]]).collect();
        assert!(shades.len() >= 8, "{label}: shaded, {} shades", shades.len());
        // The whole model in frame: nothing at the border, and it spans the picture.
        let [x0, y0, x1, y1] = opaque_box(&image).unwrap();
        assert!(
            x0 >= 8 && y0 >= 8 && x1 < SIDE - 8 && y1 < SIDE - 8,
            "{label}: {x0},{y0}..{x1},{y1}"
        );
        let span = f64::from((x1 - x0).max(y1 - y0)) / f64::from(SIDE);
        assert!(span > 0.85, "{label}: spans {span:.2} of the picture");
    }
}

#[test]
fn the_gpu_render_pass_draws_what_the_cpu_rasteriser_draws() {
    let Some(gpu) = gpu() else { return };
    for (label, triangles) in cases(cpu()) {
        let on_cpu = cpu().thumbnail(&triangles).unwrap();
        let on_gpu = gpu.thumbnail(&triangles).unwrap();
        on_gpu.save(output_dir("thumbnails").join(format!("{label}.gpu.png"))).unwrap();
        // Pixels whose centre lies on an edge may go either way, and a shade may round
        // differently by one level: at most 0.2% of the pixels may differ by more than one
        // level, and the mean difference stays under 0.05 levels.
        let (mut off, mut total) = (0usize, 0u64);
        for (a, b) in on_cpu.pixels().zip(on_gpu.pixels()) {
            let worst = (0..4).map(|k| a[k].abs_diff(b[k])).max().unwrap();
            off += usize::from(worst > 1);
            total += (0..4).map(|k| u64::from(a[k].abs_diff(b[k]))).sum::<u64>();
        }
        let pixels = (SIDE * SIDE) as usize;
        assert!(off * 500 <= pixels, "{label}: {off} of {pixels} pixels differ");
        let mean = total as f64 / (4 * pixels) as f64;
        eprintln!("{label}: {off} pixels differ by more than one level; mean {mean:.4} levels");
        assert!(mean < 0.05, "{label}: mean difference {mean:.3} levels");
    }
}

#[test]
fn every_run_renders_a_thumbnail_and_3mf_carries_it() {
    let image = load("camera.png");
    for engine in engines() {
        let params = lithos_engine::ConvertParams {
            grid: GridSize { max: 3 * MAX_CELLS, exact: None },
            ..relief(60.0)
        };
        let job =
            Job { kind: JobKind::Relief(params), format: MeshFormat::ThreeMf, backlit: false };
        let mut bytes = Vec::new();
        let report = engine.run(&job, Input::Image(&image), &mut bytes, &Silent).unwrap();
        let png = report.thumbnail.expect("every run renders one");
        let decoded = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(decoded.dimensions(), (SIDE, SIDE));
        assert!(report.stages.iter().any(|s| s.stage == lithos_engine::Stage::Thumbnail));
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut inside = Vec::new();
        std::io::Read::read_to_end(
            &mut zip.by_name("Metadata/thumbnail.png").unwrap(),
            &mut inside,
        )
        .unwrap();
        assert_eq!(inside, png, "the 3MF holds the report's thumbnail");
    }
}
