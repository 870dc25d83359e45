//! Solids from image masks: closed and manifold, as deep as asked, with the bevel asked for,
//! measured on the mesh.

use std::f64::consts::PI;

use image::{DynamicImage, GrayImage};
use lithos_engine::params::{GridSize, Mask, PhysicalSize};
use lithos_engine::{
    Bevel, ConvertParams, EngineError, IndexedMesh, MaskSource, Silent, SolidParams, SourceImage,
};

use crate::helpers::{cpu, engines, horse_with_alpha, load, mm};
use crate::mesh_checks::{assert_closed_manifold, volume_and_area};

const PITCH: f64 = 0.5;

/// A white disc of `radius` pixels on black, `size` pixels square.
fn disc(size: u32, radius: f64) -> SourceImage {
    let c = (f64::from(size) - 1.0) / 2.0;
    let image = GrayImage::from_fn(size, size, |x, y| {
        let d = ((f64::from(x) - c).powi(2) + (f64::from(y) - c).powi(2)).sqrt();
        image::Luma([if d <= radius { 255 } else { 0 }])
    });
    SourceImage::from_image(DynamicImage::ImageLuma8(image))
}

fn params(source: MaskSource, grid: Option<u32>) -> ConvertParams {
    ConvertParams {
        size: PhysicalSize::PixelMm(mm(PITCH)),
        grid: GridSize { exact: grid, ..GridSize::default() },
        mask: Some(Mask { source, threshold: 0.5 }),
        ..ConvertParams::default()
    }
}

fn solid(depth: f64, bevel: f64, shape: Bevel) -> SolidParams {
    SolidParams { depth_mm: mm(depth), bevel_mm: bevel as f32, bevel: shape, ..Default::default() }
}

fn make(image: &SourceImage, params: &ConvertParams, solid: &SolidParams) -> IndexedMesh {
    cpu().solid(image, params, solid, &Silent, &mut Vec::new()).expect("the solid is made")
}

/// Vertices on the flat top (within a thousandth of a voxel of `depth`).
fn top(mesh: &IndexedMesh, depth: f64) -> impl Iterator<Item = [f32; 3]> + '_ {
    mesh.positions.iter().copied().filter(move |p| f64::from(p[2]) >= depth - 1e-3 * PITCH)
}

fn assert_depth(label: &str, mesh: &IndexedMesh, depth: f64) {
    let (lo, hi) = mesh.bounds();
    assert!(f64::from(lo[2]).abs() <= PITCH / 2.0, "{label}: bottom at {}", lo[2]);
    let measured = f64::from(hi[2] - lo[2]);
    assert!((measured - depth).abs() <= PITCH / 2.0, "{label}: {measured} mm deep, not {depth}");
}

#[test]
fn a_rounded_disc_has_the_depth_bevel_and_volume_asked_for() {
    let (radius_px, depth, bevel) = (40.0, 6.0, 2.0);
    let image = disc(100, radius_px);
    let r0 = radius_px * PITCH;
    for engine in engines() {
        let mesh = engine
            .solid(
                &image,
                &params(MaskSource::Threshold, None),
                &solid(depth, bevel, Bevel::Round),
                &Silent,
                &mut Vec::new(),
            )
            .unwrap();
        let label = format!("round disc on {:?}", engine.backend());
        let topology = assert_closed_manifold(&label, &mesh);
        assert_eq!((topology.components, topology.euler), (1, 2), "{label}");
        assert_depth(&label, &mesh, depth);
        let (lo, hi) = mesh.bounds();
        let centre = [0, 1].map(|k| f64::from(lo[k] + hi[k]) / 2.0);
        let rho = |p: [f32; 3]| (f64::from(p[0]) - centre[0]).hypot(f64::from(p[1]) - centre[1]);
        let outline = mesh.positions.iter().map(|&p| rho(p)).fold(0.0, f64::max);
        let measured = top_inset(&mesh, depth);
        assert!(
            (measured - bevel).abs() <= PITCH / 2.0,
            "{label}: bevel {measured} mm, not {bevel}"
        );
        assert!((outline - r0).abs() <= PITCH, "{label}: radius {outline} mm, not {r0}");

        // A cylinder with a quarter-round top edge, integrated in slices.
        let steps = 10_000;
        let cap: f64 = (0..steps)
            .map(|i| {
                let h = (f64::from(i) + 0.5) / f64::from(steps) * bevel;
                let r = r0 - bevel + (bevel * bevel - h * h).sqrt();
                PI * r * r * bevel / f64::from(steps)
            })
            .sum();
        let expected = PI * r0 * r0 * (depth - bevel) + cap;
        let (volume, _) = volume_and_area(&mesh, |p| p.map(f64::from));
        assert!((volume / expected - 1.0).abs() < 0.02, "{label}: volume {volume} vs {expected}");
    }
}

#[test]
fn chamfer_shell_and_inflate_shape_the_disc() {
    let (radius_px, depth) = (30.0, 4.0);
    let image = disc(80, radius_px);
    let r0 = radius_px * PITCH;
    let p = params(MaskSource::Threshold, None);
    let centre = (80.0 - 1.0) / 2.0 * PITCH;
    let rho = |q: [f32; 3]| (f64::from(q[0]) - centre).hypot(f64::from(q[1]) - centre);

    let chamfer = make(&image, &p, &solid(depth, 1.5, Bevel::Chamfer));
    assert_eq!(assert_closed_manifold("chamfer", &chamfer).euler, 2);
    assert_depth("chamfer", &chamfer, depth);
    let inset = top_inset(&chamfer, depth);
    assert!((inset - 1.5).abs() <= PITCH / 2.0, "chamfer {inset} mm wide");

    // A cutter: a ring wall 1.5 mm thick, open at the top, so a torus (genus 1).
    let cutter = SolidParams { shell_mm: Some(mm(1.5)), ..solid(depth, 0.0, Bevel::Round) };
    let ring = make(&image, &p, &cutter);
    assert_eq!(assert_closed_manifold("cutter", &ring).euler, 0, "a ring has genus 1");
    assert_depth("cutter", &ring, depth);
    let inner = ring.positions.iter().map(|&q| rho(q)).fold(f64::INFINITY, f64::min);
    assert!((r0 - inner - 1.5).abs() <= PITCH, "wall {} mm", r0 - inner);

    // A pillow: as deep as asked at the middle, thin at the rim.
    let pillow = SolidParams { inflate: true, ..solid(depth, 0.0, Bevel::Round) };
    let pillow = make(&image, &p, &pillow);
    assert_eq!(assert_closed_manifold("pillow", &pillow).euler, 2);
    assert_depth("pillow", &pillow, depth);
    let rim_height = pillow
        .positions
        .iter()
        .filter(|&&q| rho(q) > r0 - 2.0 * PITCH)
        .map(|q| f64::from(q[2]))
        .fold(0.0, f64::max);
    assert!(rim_height < depth / 2.0, "the rim is low: {rim_height}");
}

/// The smallest distance from a point of the flat top to the outline (wall vertices at mid
/// height): the bevel's width.
fn top_inset(mesh: &IndexedMesh, depth: f64) -> f64 {
    let wall: Vec<[f32; 3]> = mesh
        .positions
        .iter()
        .copied()
        .filter(|p| (f64::from(p[2]) - depth / 2.0).abs() < PITCH)
        .collect();
    top(mesh, depth)
        .map(|t| {
            wall.iter()
                .map(|w| f64::from(t[0] - w[0]).hypot(f64::from(t[1] - w[1])))
                .fold(f64::INFINITY, f64::min)
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn horse_alpha_and_coins_threshold_make_closed_bevelled_solids() {
    let (depth, bevel) = (5.0, 1.5);
    let cases = [
        ("horse (alpha)", horse_with_alpha(), MaskSource::Alpha),
        ("coins (threshold)", load("coins.png"), MaskSource::Threshold),
    ];
    for (label, image, source) in cases {
        let mesh = make(&image, &params(source, Some(160)), &solid(depth, bevel, Bevel::Round));
        let topology = assert_closed_manifold(label, &mesh);
        assert!(topology.components >= 1);
        assert_depth(label, &mesh, depth);
        let inset = top_inset(&mesh, depth);
        assert!((inset - bevel).abs() <= PITCH / 2.0, "{label}: bevel {inset} mm, not {bevel}");
    }
}

#[test]
fn bad_solid_parameters_are_refused_by_name() {
    let image = disc(20, 6.0);
    let p = params(MaskSource::Threshold, None);
    let cases = [
        ("bevel_mm", SolidParams { bevel_mm: 7.0, ..solid(5.0, 1.0, Bevel::Round) }),
        ("bevel_mm", SolidParams { bevel_mm: -1.0, ..solid(5.0, 1.0, Bevel::Round) }),
        ("shell_mm", SolidParams { shell_mm: Some(mm(0.0)), ..solid(5.0, 1.0, Bevel::Round) }),
    ];
    for (field, bad) in cases {
        let e = cpu().solid(&image, &p, &bad, &Silent, &mut Vec::new()).unwrap_err();
        match e {
            EngineError::InvalidParameter(p) => assert_eq!(p.field, field),
            other => panic!("{field}: {other}"),
        }
    }
    let black = SourceImage::from_image(DynamicImage::ImageLuma8(GrayImage::new(20, 20)));
    let e = cpu().solid(&black, &p, &solid(5.0, 1.0, Bevel::Round), &Silent, &mut Vec::new());
    assert!(matches!(e, Err(EngineError::EmptyMask { .. })));
}
