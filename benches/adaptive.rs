//! Adaptive meshing against hmm (fogleman/hmm's C++ through PyPI `pydelatin`, the same
//! greedy-insertion code), in one run on the same height maps and bounds: triangles, seconds
//! and the true largest error of both meshes, found by rasterising each back onto the grid
//! with the same code (`inspect::height_deviation`). Lithos runs on the CPU.
//!
//! Inputs (5 mm relief, 0.1 mm pitch): the engine benches' 4096² height map (waves and fine
//! noise), a real photo (camera.png) resampled to a 4096² grid, and a 4097² fractal terrain
//! (diamond-square). hmm's `-e` is in the map's units, here millimetres. Sizes and bounds:
//! `LITHOS_ADAPTIVE_SIZE` (4096), `LITHOS_ADAPTIVE_ERRORS` (0.005,0.02,0.05). Run it with
//! `bash benches/peers/compare_adaptive.sh`, which installs pydelatin.

use std::process::Command;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lithos_engine::inspect::height_deviation;
use lithos_engine::params::{Detail, GridSize};
use lithos_engine::{
    BackendChoice, Cells, ConvertParams, DecodeLimits, Engine, EngineOptions, Heightfield, Silent,
    decode,
};

#[path = "common/engines.rs"]
mod common;

const RELIEF_MM: f32 = 5.0;
const BASE_MM: f32 = 1.0;
const PITCH_MM: f32 = 0.1;

fn heightfield(width: u32, height: u32, value: impl Fn(u32, u32) -> f32) -> Heightfield {
    let mut thickness = Vec::with_capacity((width * height) as usize);
    for y in 0..height {
        for x in 0..width {
            thickness.push(BASE_MM + RELIEF_MM * value(x, y));
        }
    }
    Heightfield {
        width,
        height,
        pitch_mm: PITCH_MM,
        thickness,
        cells: Cells::Full { width: width - 1, height: height - 1 },
        bend: None,
        surface: None,
        columns: None,
    }
}

/// Diamond-square terrain on `2^k + 1` points, roughness 0.55, in 0..1.
fn fractal(n: u32) -> Heightfield {
    let size = n as usize;
    let mut z = vec![0f32; size * size];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut step = size - 1;
    let mut scale = 1.0f32;
    while step > 1 {
        let half = step / 2;
        for y in (half..size).step_by(step) {
            for x in (half..size).step_by(step) {
                let mean = (z[(y - half) * size + x - half]
                    + z[(y - half) * size + x + half]
                    + z[(y + half) * size + x - half]
                    + z[(y + half) * size + x + half])
                    / 4.0;
                z[y * size + x] = mean + scale * random();
            }
        }
        for y in (0..size).step_by(half) {
            let start = if (y / half).is_multiple_of(2) { half } else { 0 };
            for x in (start..size).step_by(step) {
                let mut sum = 0.0;
                let mut count = 0.0;
                for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                    let (nx, ny) = (x as i64 + dx * half as i64, y as i64 + dy * half as i64);
                    if nx >= 0 && ny >= 0 && (nx as usize) < size && (ny as usize) < size {
                        sum += z[ny as usize * size + nx as usize];
                        count += 1.0;
                    }
                }
                z[y * size + x] = sum / count + scale * random();
            }
        }
        step = half;
        scale *= 0.55;
    }
    let (lo, hi) = z.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    heightfield(n, n, |x, y| (z[y as usize * size + x as usize] - lo) / (hi - lo))
}

/// The grid's heights through the engine's own stages: luminance, area-average or bilinear
/// resampling to `n` points across, thickness.
fn from_image(engine: &Engine, image: &lithos_engine::SourceImage, n: u32) -> Heightfield {
    let params = ConvertParams {
        grid: GridSize { max: n, exact: Some(n) },
        size: lithos_engine::params::PhysicalSize::PixelMm(
            lithos_engine::Millimetres::new(PITCH_MM.into()).unwrap(),
        ),
        mode: lithos_engine::Mode::Relief {
            base_mm: lithos_engine::Millimetres::new(BASE_MM.into()).unwrap(),
            relief_mm: lithos_engine::Millimetres::new(RELIEF_MM.into()).unwrap(),
            layers: None,
        },
        detail: Detail::Full,
        ..ConvertParams::default()
    };
    engine.heightfield(image, &params, &Silent, &mut Vec::new()).unwrap()
}

/// The largest vertical error of `triangles` (world millimetres, any winding) over `hf`.
fn true_error(hf: &Heightfield, triangles: impl Iterator<Item = [[f32; 3]; 3]>) -> (f64, u64) {
    let upward = triangles.map(|[a, b, c]| {
        let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if cross < 0.0 { [a, c, b] } else { [a, b, c] }
    });
    let d = height_deviation(
        hf.width,
        hf.height,
        hf.pitch_mm.into(),
        &hf.thickness,
        |_, _| true,
        upward,
    );
    (d.max_mm, d.uncovered)
}

fn main() {
    let engine =
        Engine::new(&EngineOptions { backend: BackendChoice::Cpu, gpu_limits: None }).unwrap();
    let n: u32 =
        std::env::var("LITHOS_ADAPTIVE_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(4096);
    let errors: Vec<f64> = std::env::var("LITHOS_ADAPTIVE_ERRORS")
        .unwrap_or_else(|_| "0.005,0.02,0.05".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let work = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers");
    std::fs::create_dir_all(&work).unwrap();
    let synthetic = common::synthetic(n).to_luma16();
    let camera = decode::decode_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/camera.png"),
        DecodeLimits::default(),
    )
    .unwrap();
    let inputs: Vec<(String, Heightfield)> = vec![
        (
            format!("bench height map {n}²"),
            heightfield(n, n, |x, y| f32::from(synthetic.get_pixel(x, y)[0]) / 65535.0),
        ),
        (format!("camera.png on {n}²"), from_image(&engine, &camera, n)),
        (format!("fractal {}²", n + 1), fractal(n + 1)),
    ];
    println!(
        "| input | E mm | Lithos triangles | hmm triangles | ratio | Lithos s | hmm s | speed-up | Lithos max error mm | hmm max error mm |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, hf) in &inputs {
        let raw = work.join("adaptive-heights.f32");
        std::fs::write(&raw, bytemuck::cast_slice::<f32, u8>(&hf.thickness)).unwrap();
        for &e in &errors {
            let mut ours = hf.clone();
            let start = Instant::now();
            engine.simplify(&mut ours, Detail::MaxErrorMm(e as f32)).unwrap();
            let seconds = start.elapsed().as_secs_f64();
            let surface = ours.surface.as_ref().expect("an adaptive surface");
            let w = hf.width;
            let at = |g: u32| hf.vertex(g % w, g / w, hf.thickness[g as usize]);
            let (our_error, our_gaps) = true_error(hf, surface.triangles.iter().map(|t| t.map(at)));
            assert_eq!(our_gaps, 0, "Lithos' surface covers the grid");

            let out = work.join("adaptive-hmm");
            let output = Command::new("python3")
                .arg(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("benches/peers/hmm_mesh.py"),
                )
                .args([
                    raw.to_str().unwrap(),
                    &hf.width.to_string(),
                    &hf.height.to_string(),
                    &e.to_string(),
                    out.to_str().unwrap(),
                ])
                .output()
                .expect("python3 runs");
            assert!(
                output.status.success(),
                "hmm failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let hmm_seconds = result["seconds"].as_f64().unwrap();
            let vertices: Vec<f32> = bytemuck::pod_collect_to_vec(
                &std::fs::read(out.with_extension("vertices")).unwrap(),
            );
            let triangles: Vec<u32> = bytemuck::pod_collect_to_vec(
                &std::fs::read(out.with_extension("triangles")).unwrap(),
            );
            // hmm's y runs up from the grid's last row, as the engine places rows.
            let corner = |v: u32| {
                let v = v as usize * 3;
                [vertices[v] * hf.pitch_mm, vertices[v + 1] * hf.pitch_mm, vertices[v + 2]]
            };
            let (hmm_error, hmm_gaps) = true_error(
                hf,
                triangles.chunks_exact(3).map(|t| [corner(t[0]), corner(t[1]), corner(t[2])]),
            );
            let (ours_n, hmm_n) = (surface.triangles.len(), triangles.len() / 3);
            println!(
                "| {name} | {e} | {ours_n} | {hmm_n} | {:.2} | {seconds:.2} | {hmm_seconds:.2} | {:.1}x | {our_error:.5} | {hmm_error:.5} ({hmm_gaps}) |",
                ours_n as f64 / hmm_n as f64,
                hmm_seconds / seconds,
            );
        }
    }
}
