//! Every mode, on real and random images, on both backends: closed, manifold, the right
//! topology, the volume of the thickness map and the requested size.

use lithos_engine::params::{Frame, GridSize, Mask, PhysicalSize};
use lithos_engine::{
    Cells, ConvertParams, Input, Job, JobKind, Light, MaskSource, MeshFormat, Mode,
};

use crate::helpers::*;

fn lithophane(frame: Option<(f64, f64)>) -> ConvertParams {
    ConvertParams {
        mode: Mode::Lithophane {
            min_mm: mm(0.6),
            max_mm: mm(3.0),
            frame: frame.map(|(w, t)| Frame { width_mm: mm(w), thickness_mm: mm(t) }),
            light: Light::Linear,
        },
        size: PhysicalSize::WidthMm(mm(80.0)),
        ..ConvertParams::default()
    }
}

fn masked(source: MaskSource, threshold: f32) -> ConvertParams {
    ConvertParams { mask: Some(Mask { source, threshold }), ..relief(60.0) }
}

#[test]
fn relief_of_a_photo() {
    let image = load("camera.png");
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &relief(100.0));
        let report = assert_printable(&format!("relief camera {}", engine.adapter()), &hf, &stl);
        assert_eq!(report.components, 1);
        assert_eq!(report.euler, 2);
        assert_eq!(hf.size_mm()[0], 100.0);
    }
}

#[test]
fn relief_of_random_images_at_several_sizes() {
    for (seed, w, h) in [(1, 2, 2), (2, 3, 7), (3, 64, 48), (4, 129, 33)] {
        let image = random_gray(seed, w, h);
        for engine in engines() {
            let (hf, stl) = convert(engine, &image, &relief(40.0));
            assert_printable(&format!("relief random {w}x{h} {}", engine.adapter()), &hf, &stl);
        }
    }
}

#[test]
fn constant_image_gives_the_exact_box() {
    // Grey 128/255 with base 2 and relief 3: a box of 2 + 3 * 128/255 mm everywhere.
    let image = lithos_engine::SourceImage::from_image(image::DynamicImage::ImageLuma8(
        image::GrayImage::from_pixel(50, 30, image::Luma([128])),
    ));
    let params = ConvertParams { size: PhysicalSize::PixelMm(mm(0.5)), ..relief(1.0) };
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &params);
        let report = assert_printable("constant box", &hf, &stl);
        let t = 2.0 + 3.0 * (128.0 / 255.0);
        let expected = 49.0 * 0.5 * 29.0 * 0.5 * t;
        assert!(
            (report.volume - expected).abs() / expected < 1e-5,
            "{} vs {expected}",
            report.volume
        );
        assert!((f64::from(report.max[2]) - t).abs() < 1e-5);
        // A flat box needs 2 triangles per cell on top, 2 per border cell edge of wall, and a
        // floor of 49 + 1 triangles on each of the first and last rows and 2 per row between.
        let top = 2 * 49 * 29;
        let walls = 2 * 2 * (49 + 29);
        let floor = 2 * (49 + 1) + 2 * (29 - 2);
        assert_eq!(report.triangles, top + walls + floor);
    }
}

#[test]
fn lithophane_is_thick_where_dark() {
    let image = load("camera.png");
    let camera = image::open(data("camera.png")).unwrap().to_luma8();
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &lithophane(None));
        assert_printable(&format!("lithophane camera {}", engine.adapter()), &hf, &stl);
        let range =
            hf.thickness.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
        assert!(range.0 >= 0.6 - 1e-6 && range.1 <= 3.0 + 1e-6, "thickness within min..max");
        // The camera's coat is black and the sky bright: dark pixels are the thick ones.
        let luma = |x: u32, y: u32| camera.get_pixel(x, y)[0];
        let (dark, bright) = ((250, 250), (50, 50));
        assert!(luma(dark.0, dark.1) < luma(bright.0, bright.1));
        assert!(hf.thickness_at(dark.0, dark.1) > hf.thickness_at(bright.0, bright.1));
    }
}

/// The transmittance model on both backends: each vertex lets through the share of light its
/// brightness asks for (Beer-Lambert, `10^(-t / td)`, normalised between black's thickness and
/// white's), so the print lit from behind shows the image's brightness; the linear model's
/// light strays from it. The brightness of a vertex is read back from the linear model's
/// thickness, which is linear in it.
#[test]
fn transmittance_lithophanes_let_through_the_light_their_brightness_asks_for() {
    let td = mm(3.0);
    let light = Light::Transmittance { td_mm: td };
    let transmittance = ConvertParams {
        mode: Mode::Lithophane { min_mm: mm(0.6), max_mm: mm(3.0), frame: None, light },
        ..lithophane(None)
    };
    for name in ["camera.png", "coins.png"] {
        let image = load(name);
        for engine in engines() {
            let (linear, _) = convert(engine, &image, &lithophane(None));
            let (hf, stl) = convert(engine, &image, &transmittance);
            assert_printable(&format!("transmittance {name} {}", engine.adapter()), &hf, &stl);
            let (dark, bright) = (light.passes(3.0), light.passes(0.6));
            let share = |t: f32| (light.passes(t) - dark) / (bright - dark);
            let (mut ours, mut theirs) = (0.0f64, 0.0f64);
            for (&t, &t_linear) in hf.thickness.iter().zip(&linear.thickness) {
                let wanted = (t_linear - 3.0) / (0.6 - 3.0);
                assert!((0.6 - 1e-4..=3.0 + 1e-4).contains(&t), "within min..max: {t}");
                ours += f64::from((share(t) - wanted).abs());
                theirs += f64::from((share(t_linear) - wanted).abs());
            }
            let n = hf.thickness.len() as f64;
            let (ours, theirs) = (ours / n, theirs / n);
            assert!(ours < 1e-3, "{name}: mean light error {ours} with transmittance");
            assert!(theirs > 0.05, "{name}: the linear model strays ({theirs})");
        }
    }
}

#[test]
fn lithophane_frame_is_solid_at_its_thickness() {
    let image = load("coins.png");
    let params = lithophane(Some((5.0, 4.0)));
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &params);
        let report =
            assert_printable(&format!("framed lithophane {}", engine.adapter()), &hf, &stl);
        assert_eq!(report.max[2], 4.0, "the frame is the thickest part");
        let border = (5.0 / hf.pitch_mm).floor() as u32;
        for k in 0..border {
            assert_eq!(hf.thickness_at(k, hf.height / 2), 4.0, "left frame column {k}");
            assert_eq!(
                hf.thickness_at(hf.width / 2, hf.height - 1 - k),
                4.0,
                "bottom frame row {k}"
            );
        }
        assert!(hf.thickness_at(hf.width / 2, hf.height / 2) <= 3.0, "inside is panel");
    }
}

#[test]
fn threshold_mask_on_the_horse_silhouette() {
    // A black horse on white: inverted, the horse is bright and carries the material.
    let image = load("horse.png");
    let params = ConvertParams {
        tone: lithos_engine::params::Tone { invert: true, ..Default::default() },
        ..masked(MaskSource::Threshold, 0.5)
    };
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &params);
        let report = assert_printable(&format!("horse threshold {}", engine.adapter()), &hf, &stl);
        assert!(matches!(hf.cells, Cells::Masked { .. }));
        let cells = f64::from(hf.cells.width()) * f64::from(hf.cells.height());
        let fill = hf.cells.solid_count() as f64 / cells;
        assert!((0.25..0.4).contains(&fill), "the horse covers a third of the frame: {fill}");
        assert!(report.components >= 1);
    }
}

#[test]
fn alpha_mask_on_a_transparent_silhouette() {
    let image = horse_with_alpha();
    let plain = ConvertParams { mask: None, ..relief(60.0) };
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &masked(MaskSource::Alpha, 0.5));
        assert_printable(&format!("horse alpha {}", engine.adapter()), &hf, &stl);
        let (full, _) = convert(engine, &image, &plain);
        assert!(
            hf.cells.solid_count() < full.cells.solid_count() / 2,
            "transparency removes material"
        );
    }
}

#[test]
fn threshold_mask_on_the_coins() {
    let image = load("coins.png");
    for engine in engines() {
        let (hf, stl) = convert(engine, &image, &masked(MaskSource::Threshold, 0.6));
        let report = assert_printable(&format!("coins threshold {}", engine.adapter()), &hf, &stl);
        assert!(report.components > 5, "bright coins are separate pieces: {}", report.components);
    }
}

#[test]
fn masks_on_random_images_with_holes_and_islands() {
    for seed in 0..4 {
        let image = random_rgba(seed, 90, 70);
        for engine in engines() {
            for params in [masked(MaskSource::Alpha, 0.5), masked(MaskSource::Threshold, 0.45)] {
                let (hf, stl) = convert(engine, &image, &params);
                let label =
                    format!("random mask seed {seed} {:?} {}", params.mask, engine.adapter());
                assert_printable(&label, &hf, &stl);
            }
        }
    }
}

#[test]
fn shrinking_enlarging_and_blurring_keep_the_mesh_printable() {
    let image = horse_with_alpha();
    for engine in engines() {
        for grid in [GridSize { max: 97, exact: None }, GridSize { max: 4096, exact: Some(611) }] {
            let params = ConvertParams {
                grid,
                tone: lithos_engine::params::Tone {
                    blur_px: 1.5,
                    gamma: 1.8,
                    invert: true,
                    auto_levels: true,
                },
                ..masked(MaskSource::Alpha, 0.5)
            };
            let (hf, stl) = convert(engine, &image, &params);
            let long = hf.width.max(hf.height);
            assert_eq!(long, grid.exact.unwrap_or(grid.max), "grid follows the request");
            assert_printable(&format!("horse grid {long} {}", engine.adapter()), &hf, &stl);
            let width = (hf.width - 1) as f32 * hf.pitch_mm;
            assert!((width - 60.0).abs() < 1e-3, "the grid's width stays as requested");
        }
    }
}

#[test]
fn ascii_and_binary_stl_hold_the_same_triangles() {
    let image = random_gray(9, 20, 12);
    let engine = cpu();
    let hf =
        engine.heightfield(&image, &relief(10.0), &lithos_engine::Silent, &mut Vec::new()).unwrap();
    let mut binary = Vec::new();
    let mut ascii = Vec::new();
    engine.write_mesh(&hf, MeshFormat::Stl, &mut binary, &lithos_engine::Silent).unwrap();
    engine.write_mesh(&hf, MeshFormat::StlAscii, &mut ascii, &lithos_engine::Silent).unwrap();
    assert!(ascii.starts_with(b"solid lithos\n") && ascii.ends_with(b"endsolid lithos\n"));
    let read = |bytes: &[u8]| {
        stl_io::create_stl_reader(&mut std::io::Cursor::new(bytes))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    assert_eq!(read(&binary), read(&ascii), "text round-trips every float exactly");
    assert_printable("ascii", &hf, &ascii);
}

/// Records the stages the engine reports.
#[derive(Default)]
struct Stages(std::sync::Mutex<Vec<lithos_engine::Stage>>);

impl lithos_engine::Progress for Stages {
    fn stage(&self, stage: lithos_engine::Stage) {
        self.0.lock().unwrap().push(stage);
    }
}

#[test]
fn the_engine_reports_exactly_the_stages_it_declares() {
    // The worker divides progress by these lists' lengths: a stage added to a pipeline but
    // not to its list would leave progress short of 100%.
    let image = load("camera.png");
    let params = relief(40.0);
    let seen = Stages::default();
    let job = Job { kind: JobKind::Relief(params), format: MeshFormat::Stl, backlit: false };
    cpu().run(&job, Input::Image(&image), std::io::sink(), &seen).unwrap();
    assert_eq!(*seen.0.lock().unwrap(), lithos_engine::HEIGHTFIELD_STAGES);
    assert_eq!(job.stages(), lithos_engine::HEIGHTFIELD_STAGES, "the job knows them");

    let seen = Stages::default();
    let solid = lithos_engine::SolidParams::default();
    let small = ConvertParams { grid: GridSize { max: 64, exact: None }, ..params };
    let job = Job { kind: JobKind::Solid(small, solid), format: MeshFormat::Stl, backlit: false };
    cpu().run(&job, Input::Image(&image), std::io::sink(), &seen).unwrap();
    assert_eq!(job.stages(), lithos_engine::SOLID_STAGES, "the job knows them");
    assert_eq!(*seen.0.lock().unwrap(), lithos_engine::SOLID_STAGES);
}
