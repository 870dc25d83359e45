//! Shared fixtures: engines for both backends, test images, and mesh checks.

use std::collections::VecDeque;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{DynamicImage, GrayImage, RgbaImage};
use lithos_engine::inspect::{MeshReport, inspect_stl};
use lithos_engine::{
    BackendChoice, Cells, ConvertParams, DecodeLimits, Engine, EngineOptions, Heightfield,
    MeshFormat, Silent, SourceImage, decode,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

pub fn load(name: &str) -> SourceImage {
    decode::decode_file(&data(name), DecodeLimits::default()).expect("test image decodes")
}

/// Where tests leave files worth looking at after a failure.
/// Runs `tests/engine/scripts/SCRIPT` with `args`: the reference writers (the pip `packages`,
/// which tests/run-all.sh installs) writing test files. Fails the test, naming what to
/// install, when they cannot.
pub fn run_writers(script: &str, args: &[&Path], packages: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engine/scripts").join(script);
    let run =
        std::process::Command::new("python3").arg(&path).args(args).output().expect("python3 runs");
    assert!(
        run.status.success(),
        "{script} wrote nothing (pip install {packages}; tests/run-all.sh does): {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

pub fn output_dir(topic: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(topic);
    std::fs::create_dir_all(&dir).expect("create the test output directory");
    dir
}

pub fn cpu() -> &'static Engine {
    static CPU: OnceLock<Engine> = OnceLock::new();
    CPU.get_or_init(|| {
        Engine::new(&EngineOptions { backend: BackendChoice::Cpu, gpu_limits: None })
            .expect("the CPU backend always opens")
    })
}

/// The GPU engine, or `None` when the run says explicitly that it has no GPU.
pub fn gpu() -> Option<&'static Engine> {
    static GPU: OnceLock<Option<Engine>> = OnceLock::new();
    GPU.get_or_init(|| {
        match Engine::new(&EngineOptions { backend: BackendChoice::Gpu, gpu_limits: None }) {
            Ok(engine) => Some(engine),
            Err(e) if std::env::var_os("LITHOS_SKIP_GPU_TESTS").is_some() => {
                eprintln!("LITHOS_SKIP_GPU_TESTS is set and no GPU opened ({e}): GPU tests skip");
                None
            }
            Err(e) => panic!(
                "no GPU adapter ({e}). Install mesa-vulkan-drivers for lavapipe, or set \
                 LITHOS_SKIP_GPU_TESTS=1 to skip GPU tests knowingly"
            ),
        }
    })
    .as_ref()
}

/// Both backends, CPU first.
pub fn engines() -> Vec<&'static Engine> {
    std::iter::once(cpu()).chain(gpu()).collect()
}

pub fn random_gray(seed: u64, width: u32, height: u32) -> SourceImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let image = GrayImage::from_fn(width, height, |_, _| image::Luma([rng.random()]));
    SourceImage::from_image(DynamicImage::ImageLuma8(image))
}

/// Random colours; alpha is opaque inside a few random discs (with holes cut from some) and
/// pure noise in a band, so masks get curved outlines, holes, islands and single pixels.
pub fn random_rgba(seed: u64, width: u32, height: u32) -> SourceImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let discs: Vec<(f32, f32, f32, bool)> = (0..6)
        .map(|_| {
            let r = rng.random_range(4.0..(width.min(height) as f32 / 3.0));
            (
                rng.random_range(0.0..width as f32),
                rng.random_range(0.0..height as f32),
                r,
                rng.random_bool(0.3),
            )
        })
        .collect();
    let image = RgbaImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let mut opaque = false;
        for &(cx, cy, r, cut) in &discs {
            let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
            if d < r {
                opaque = !(cut && d < r / 3.0);
            }
        }
        if y > height * 3 / 4 {
            opaque = rng.random_bool(0.6);
        }
        let a = if opaque { 255 } else { rng.random_range(0..100) };
        image::Rgba([rng.random(), rng.random(), rng.random(), a])
    });
    SourceImage::from_image(DynamicImage::ImageRgba8(image))
}

/// The heightfield and binary STL bytes of one conversion.
pub fn convert(
    engine: &Engine,
    image: &SourceImage,
    params: &ConvertParams,
) -> (Heightfield, Vec<u8>) {
    let hf = engine
        .heightfield(image, params, &Silent, &mut Vec::new())
        .unwrap_or_else(|e| panic!("heightfield on {}: {e}", engine.adapter()));
    let mut bytes = Vec::new();
    let stats = engine.write_mesh(&hf, MeshFormat::Stl, &mut bytes, &Silent).expect("mesh writes");
    assert_eq!(stats.bytes, bytes.len() as u64, "reported bytes match what was written");
    assert_eq!(stats.bytes, 84 + 50 * stats.triangles, "binary STL size");
    let declared = u32::from_le_bytes(bytes[80..84].try_into().unwrap());
    assert_eq!(u64::from(declared), stats.triangles, "header count matches the records");
    (hf, bytes)
}

/// Solid components and holes of the cells, by flood fill through cell edges; holes are empty
/// regions that do not reach the border.
pub fn topology(cells: &Cells) -> (i64, i64) {
    let (w, h) = (i64::from(cells.width()), i64::from(cells.height()));
    let mut seen = vec![false; ((w + 2) * (h + 2)) as usize];
    let idx = |x: i64, y: i64| ((y + 1) * (w + 2) + (x + 1)) as usize;
    let (mut solid, mut empty) = (0, 0);
    for y in -1..=h {
        for x in -1..=w {
            if seen[idx(x, y)] {
                continue;
            }
            let kind = cells.is_solid(x, y);
            let mut queue = VecDeque::from([(x, y)]);
            seen[idx(x, y)] = true;
            while let Some((cx, cy)) = queue.pop_front() {
                for (nx, ny) in [(cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)] {
                    if nx < -1 || ny < -1 || nx > w || ny > h || seen[idx(nx, ny)] {
                        continue;
                    }
                    if cells.is_solid(nx, ny) == kind {
                        seen[idx(nx, ny)] = true;
                        queue.push_back((nx, ny));
                    }
                }
            }
            if kind { solid += 1 } else { empty += 1 }
        }
    }
    // The region around the padded border is the outside, not a hole.
    (solid, empty - 1)
}

/// The integral of the thickness map over the solid cells, two ways: each cell the mean of its
/// corners (the trapezoid rule), and exactly for the two triangles (a, c, d), (a, d, b) the
/// surface is made of.
pub fn thickness_integrals(hf: &Heightfield) -> (f64, f64) {
    let p2 = f64::from(hf.pitch_mm).powi(2);
    let (mut trapezoid, mut exact) = (0.0, 0.0);
    for y in 0..hf.height - 1 {
        for x in 0..hf.width - 1 {
            if hf.cells.is_solid(x.into(), y.into()) {
                let t = |dx, dy| f64::from(hf.thickness_at(x + dx, y + dy));
                let (a, b, c, d) = (t(0, 0), t(1, 0), t(0, 1), t(1, 1));
                trapezoid += p2 * (a + b + c + d) / 4.0;
                exact += p2 * (2.0 * a + b + c + 2.0 * d) / 6.0;
            }
        }
    }
    (trapezoid, exact)
}

/// Asserts every printability property of a converted mesh and returns its report.
pub fn assert_printable(label: &str, hf: &Heightfield, stl: &[u8]) -> MeshReport {
    let report = inspect_stl(Cursor::new(stl)).expect("the STL parses");
    let path = output_dir("meshes").join(format!("{}.stl", label.replace([' ', '/'], "_")));
    let keep = || {
        std::fs::write(&path, stl).expect("write the failing mesh");
        path.display().to_string()
    };
    assert!(
        report.is_closed_manifold(),
        "{label}: not closed and manifold: {report:?}; mesh at {}",
        keep()
    );

    let (components, holes) = topology(&hf.cells);
    assert_eq!(report.components as i64, components, "{label}: one closed piece per region");
    assert_eq!(
        report.euler,
        2 * (components - holes),
        "{label}: Euler characteristic of {components} pieces with {holes} holes; mesh at {}",
        keep()
    );

    // The enclosed volume is exactly the integral under the triangulated surface (an adaptive
    // one's is checked against its bound where it is made), and within 0.5% of the trapezoid
    // rule once there are enough cells for the diagonal not to matter.
    let (trapezoid, exact) = thickness_integrals(hf);
    assert!(report.volume > 0.0, "{label}: volume must be positive (outward normals)");
    let error = (report.volume - exact).abs() / exact;
    assert!(
        error < 1e-5 || hf.surface.is_some(),
        "{label}: volume {} vs exact integral {exact}",
        report.volume
    );
    if hf.cells.solid_count() >= 100 && hf.surface.is_none() {
        let error = (report.volume - trapezoid).abs() / trapezoid;
        assert!(
            error < 0.005,
            "{label}: volume {} vs thickness integral {trapezoid}: {:.3}% off",
            report.volume,
            error * 100.0
        );
    }

    let [sx, sy] = [hf.width, hf.height].map(|n| (n - 1) as f32 * hf.pitch_mm);
    let tmax = hf.thickness.iter().copied().fold(0.0, f32::max);
    assert_eq!(report.min[2], 0.0, "{label}: the floor is at z = 0");
    assert!(report.min[0] >= 0.0 && report.min[1] >= 0.0, "{label}: no geometry below 0");
    assert!(report.max[0] <= sx + 1e-4 && report.max[1] <= sy + 1e-4, "{label}: inside the grid");
    // The size the engine reports is the mesh's box.
    let size = hf.size_mm();
    for k in 0..3 {
        let made = report.max[k] - report.min[k];
        assert!(
            (size[k] - made).abs() < 1e-3,
            "{label}: reports {size:?}, made {made} on axis {k}"
        );
    }
    assert!(report.max[2] <= tmax + 1e-6, "{label}: no point above the thickest vertex");
    if let Cells::Full { .. } = hf.cells {
        assert!(report.min[0].abs() < 1e-6 && report.min[1].abs() < 1e-6, "{label}: min corner");
        assert!((report.max[0] - sx).abs() < 1e-4, "{label}: width {} vs {sx}", report.max[0]);
        assert!((report.max[1] - sy).abs() < 1e-4, "{label}: depth {} vs {sy}", report.max[1]);
        if hf.surface.is_none() {
            assert_eq!(report.max[2], tmax, "{label}: height is the thickest vertex");
        }
    }
    report
}

/// Parameters for a relief `width_mm` wide.
pub fn relief(width_mm: f64) -> ConvertParams {
    ConvertParams {
        size: lithos_engine::params::PhysicalSize::WidthMm(
            lithos_engine::Millimetres::new(width_mm).unwrap(),
        ),
        ..ConvertParams::default()
    }
}

pub fn mm(value: f64) -> lithos_engine::Millimetres {
    lithos_engine::Millimetres::new(value).unwrap()
}

/// horse.png keeps its silhouette in the colour channels (black on white) and is opaque
/// throughout; this copy moves the silhouette into alpha, as a logo exported with
/// transparency would have it.
pub fn horse_with_alpha() -> SourceImage {
    let mut rgba = image::open(data("horse.png")).expect("horse.png").to_rgba8();
    for pixel in rgba.pixels_mut() {
        pixel[3] = 255 - pixel[0];
    }
    SourceImage::from_image(DynamicImage::ImageRgba8(rgba))
}
