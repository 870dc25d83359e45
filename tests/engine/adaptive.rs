//! Adaptive top surfaces (`max_error_mm`, `max_triangles`): on real images, masks, outlines
//! and adversarial height maps (single-pixel spikes, steps, noise), on both backends, every grid
//! point lies within the bound of the written mesh, found by rasterising the mesh back onto the
//! grid; the mesh is closed and manifold with the full grid's volume to within the bound; GPU
//! and CPU write the same bytes; `max_triangles` is never exceeded; the kernel matches its twin.

use image::{DynamicImage, ImageBuffer, Luma};
use lithos_engine::inspect::height_deviation;
use lithos_engine::params::{Detail, Frame, Mask, Outline, Shape};
use lithos_engine::{
    ConvertParams, Engine, EngineError, Heightfield, Light, MaskSource, Mode, SourceImage,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::helpers::*;
use crate::parity::records;

/// Slack for float32 positions in the written file, in millimetres.
const STORAGE_MM: f64 = 1e-4;

fn with_detail(params: &ConvertParams, detail: Detail) -> ConvertParams {
    ConvertParams { detail, ..*params }
}

/// Converts with `detail` and checks the mesh against `hf`'s grid: within `bound_mm` of every
/// point, covering every point of a solid cell, closed and manifold, its volume within the
/// bound of the full grid's. Returns the heightfield and the STL.
fn check(
    label: &str,
    engine: &Engine,
    image: &SourceImage,
    params: &ConvertParams,
    bound_mm: f64,
) -> (Heightfield, Vec<u8>) {
    let (hf, stl) = convert(engine, image, params);
    let label = format!("{label} on {}", engine.adapter());
    assert!(hf.surface.is_some(), "{label}: an adaptive surface");
    let report = assert_printable(&label, &hf, &stl);
    let cells = &hf.cells;
    let solid_corner = |x: u32, y: u32| {
        let (x, y) = (i64::from(x), i64::from(y));
        [(x - 1, y - 1), (x, y - 1), (x - 1, y), (x, y)]
            .iter()
            .any(|&(cx, cy)| cells.is_solid(cx, cy))
    };
    let triangles = records(&stl)
        .into_iter()
        .map(|r| [[r[3], r[4], r[5]], [r[6], r[7], r[8]], [r[9], r[10], r[11]]]);
    let deviation = height_deviation(
        hf.width,
        hf.height,
        hf.pitch_mm.into(),
        &hf.thickness,
        solid_corner,
        triangles,
    );
    assert_eq!(
        deviation.uncovered, 0,
        "{label}: every grid point of a solid cell is under the surface"
    );
    assert!(
        deviation.max_mm <= bound_mm + STORAGE_MM,
        "{label}: a grid point lies {} mm from the mesh, over the {bound_mm} mm bound",
        deviation.max_mm
    );
    let (_, full) = thickness_integrals(&hf);
    let area = hf.cells.solid_count() as f64 * f64::from(hf.pitch_mm).powi(2);
    assert!(
        (report.volume - full).abs() <= bound_mm * area + 1e-6 * full,
        "{label}: volume {} vs the full grid's {full}, more than {bound_mm} mm over {area} mm²",
        report.volume
    );
    let full_triangles = 2 * hf.cells.solid_count();
    let top = hf.surface.as_ref().unwrap().triangles.len() as u64;
    assert!(
        top <= full_triangles,
        "{label}: {top} top triangles, more than the grid's {full_triangles}"
    );
    (hf, stl)
}

fn gray16(width: u32, height: u32, f: impl Fn(u32, u32) -> f64) -> SourceImage {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        Luma([(f(x, y).clamp(0.0, 1.0) * 65535.0).round() as u16])
    });
    SourceImage::from_image(DynamicImage::ImageLuma16(image))
}

/// Adversarial height maps on grids that are not `2^k + 1` points: single-pixel spikes on a
/// plane, steps in three directions, white noise, and a smooth bowl.
fn adversarial() -> Vec<(&'static str, SourceImage)> {
    let mut rng = StdRng::seed_from_u64(20);
    let spikes: Vec<(u32, u32)> =
        (0..25).map(|_| (rng.random_range(0..97), rng.random_range(0..61))).collect();
    vec![
        ("spikes", gray16(97, 61, |x, y| if spikes.contains(&(x, y)) { 1.0 } else { 0.2 })),
        (
            "steps",
            gray16(70, 131, |x, y| {
                0.1 + 0.3 * f64::from(u8::from(x > 23))
                    + 0.2 * f64::from(u8::from(y > 90))
                    + 0.3 * f64::from(u8::from(x + y > 120))
            }),
        ),
        ("noise", random_gray(21, 83, 67)),
        (
            "bowl",
            gray16(129, 129, |x, y| {
                let (u, v) = (f64::from(x) / 64.0 - 1.0, f64::from(y) / 64.0 - 1.0);
                (u * u + v * v) / 2.0
            }),
        ),
    ]
}

#[test]
fn every_grid_point_lies_within_the_bound_on_both_backends() {
    let camera = load("camera.png");
    let coins = load("coins.png");
    for engine in engines() {
        for bound in [0.01, 0.05, 0.3] {
            let detail = Detail::MaxErrorMm(bound as f32);
            let params = with_detail(&relief(80.0), detail);
            check(&format!("camera {bound}"), engine, &camera, &params, bound);
            check(&format!("coins {bound}"), engine, &coins, &params, bound);
            for (name, image) in adversarial() {
                check(&format!("{name} {bound}"), engine, &image, &params, bound);
            }
        }
    }
}

#[test]
fn masks_and_outlines_keep_their_walls() {
    let horse = horse_with_alpha();
    let text = load("text.png");
    let photo = load("camera.png");
    let alpha = Some(Mask { source: MaskSource::Alpha, threshold: 0.5 });
    let dark = Some(Mask { source: MaskSource::Threshold, threshold: 0.5 });
    let lithophane = Mode::Lithophane {
        min_mm: mm(0.8),
        max_mm: mm(3.0),
        frame: Some(Frame { width_mm: mm(3.0), thickness_mm: mm(3.5) }),
        light: Light::Linear,
    };
    for engine in engines() {
        for bound in [0.02, 0.2] {
            let detail = Detail::MaxErrorMm(bound as f32);
            let masked = |mask| ConvertParams { mask, detail, ..relief(60.0) };
            check(&format!("horse alpha {bound}"), engine, &horse, &masked(alpha), bound);
            check(&format!("text threshold {bound}"), engine, &text, &masked(dark), bound);
            for outline in [Outline::Heart, Outline::Circle] {
                let params = ConvertParams {
                    mode: lithophane,
                    shape: Shape::Flat { outline, hanger_mm: 6.0, feet: false },
                    detail,
                    ..relief(70.0)
                };
                check(&format!("{outline:?} lithophane {bound}"), engine, &photo, &params, bound);
            }
        }
    }
}

#[test]
fn gpu_and_cpu_write_the_same_mesh() {
    let Some(gpu) = gpu() else { return };
    let horse = horse_with_alpha();
    let cases = [
        ("camera", load("camera.png"), relief(80.0)),
        (
            "horse",
            horse,
            ConvertParams {
                mask: Some(Mask { source: MaskSource::Alpha, threshold: 0.5 }),
                ..relief(60.0)
            },
        ),
    ];
    for (name, image, params) in
        cases.into_iter().chain(adversarial().into_iter().map(|(n, i)| (n, i, relief(40.0))))
    {
        for detail in [Detail::MaxErrorMm(0.03), Detail::MaxTriangles(20_000)] {
            let params = with_detail(&params, detail);
            let (_, on_cpu) = convert(cpu(), &image, &params);
            let (_, on_gpu) = convert(gpu, &image, &params);
            assert!(on_cpu == on_gpu, "{name} {detail:?}: the GPU's mesh differs from the CPU's");
        }
    }
}

#[test]
fn max_triangles_is_never_exceeded_and_uses_what_it_may() {
    let camera = load("camera.png");
    let mut previous = None;
    for n in [10_000u64, 30_000, 100_000] {
        let params = with_detail(&relief(80.0), Detail::MaxTriangles(n));
        let (hf, stl) = convert(cpu(), &camera, &params);
        let made = (stl.len() as u64 - 84) / 50;
        assert!(made <= n, "{n}: made {made} triangles");
        assert_printable(&format!("camera at most {n}"), &hf, &stl);
        if let Some(fewer) = previous {
            assert!(made > fewer, "{n}: a larger budget buys more detail ({made} vs {fewer})");
        }
        previous = Some(made);
    }
    // The walls and floor alone exceed a tiny budget: a typed error that says how many fit.
    let params = with_detail(&relief(80.0), Detail::MaxTriangles(100));
    let error =
        cpu().heightfield(&camera, &params, &lithos_engine::Silent, &mut Vec::new()).unwrap_err();
    let EngineError::InvalidParameter(error) = error else { panic!("{error:?}") };
    assert_eq!(error.field, "max_triangles");
    assert!(error.message.contains("allow at least"), "{}", error.message);
}

#[test]
fn error_zero_is_the_full_grid_and_a_larger_bound_fewer_triangles() {
    let camera = load("camera.png");
    let request = |mm: f64| {
        let request = lithos_engine::JobRequest {
            max_error_mm: Some(mm),
            width_mm: Some(80.0),
            ..Default::default()
        };
        *request.build(lithos_engine::JobMode::Relief, None).unwrap().image_params().unwrap()
    };
    let (full_hf, full) = convert(cpu(), &camera, &request(0.0));
    assert!(full_hf.surface.is_none(), "0 keeps the full grid");
    let (_, plain) = convert(cpu(), &camera, &with_detail(&relief(80.0), Detail::Full));
    assert!(full == plain, "max_error_mm 0 is exactly the full grid");
    let counts: Vec<usize> = [0.005, 0.02, 0.1]
        .iter()
        .map(|&mm| convert(cpu(), &camera, &request(mm)).1.len())
        .collect();
    assert!(
        counts[0] < full.len() && counts[1] < counts[0] && counts[2] < counts[1],
        "{counts:?} vs {}",
        full.len()
    );
}
