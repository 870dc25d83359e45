//! Criterion benchmarks of the heightmap pipeline, one group per stage, plus the end-to-end
//! figure the engine issue sets: a 4096 x 4096 relief from decoded image to closed STL file.
//!
//! Run with `cargo bench --bench heightmap`. GPU groups run when wgpu finds an adapter
//! (lavapipe counts); set `LITHOS_BENCH_SIZE` to change the 4096 grid.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use image::ImageFormat;
use lithos_engine::params::{GridSize, Tone};
use lithos_engine::{
    ConvertParams, DecodeLimits, Input, Job, JobKind, MeshFormat, Silent, SourceImage, decode,
};

#[path = "common/engines.rs"]
mod common;
use common::engines;
use common::synthetic;

fn size() -> u32 {
    std::env::var("LITHOS_BENCH_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(4096)
}

fn benches(c: &mut Criterion) {
    let n = size();
    let image = synthetic(n);
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png).unwrap();
    let source = SourceImage::from_image(image);
    let pixels = u64::from(n) * u64::from(n);
    let engines = engines();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = dir.path().join("relief.stl");
    let params = ConvertParams::default();
    let job = Job { kind: JobKind::Relief(params), format: MeshFormat::Stl, backlit: false };

    let mut group = c.benchmark_group("decode");
    group.sample_size(10).throughput(Throughput::Elements(pixels));
    group.bench_function("png16", |b| {
        b.iter(|| decode::decode_bytes(black_box(png.get_ref()), DecodeLimits::default()).unwrap())
    });
    group.finish();

    // Stages 2-4 under three settings: as is, shrunk to half, and blurred.
    let variants = [
        ("identity", params),
        ("shrink_half", ConvertParams { grid: GridSize { max: n / 2, exact: None }, ..params }),
        ("blur_2px", ConvertParams { tone: Tone { blur_px: 2.0, ..Tone::default() }, ..params }),
    ];
    let mut group = c.benchmark_group("heightfield");
    group.sample_size(10).throughput(Throughput::Elements(pixels));
    for (backend, engine) in &engines {
        for (name, p) in &variants {
            group.bench_function(BenchmarkId::new(*backend, name), |b| {
                b.iter(|| engine.heightfield(&source, p, &Silent, &mut Vec::new()).unwrap())
            });
        }
    }
    group.finish();

    // Stage 5 alone, into a sink: generation without the file system.
    let mut group = c.benchmark_group("mesh");
    group.sample_size(10);
    for (backend, engine) in &engines {
        let hf = engine.heightfield(&source, &params, &Silent, &mut Vec::new()).unwrap();
        group.throughput(Throughput::Elements(hf.triangle_count()));
        group.bench_function(BenchmarkId::new(*backend, "to_sink"), |b| {
            b.iter(|| engine.write_mesh(&hf, MeshFormat::Stl, std::io::sink(), &Silent).unwrap())
        });
    }
    group.finish();

    // The figure: decoded image to a closed file on disk. The previous iteration's
    // output is deleted untimed: freeing 1.7 GB of blocks is not part of writing this file.
    let mut group = c.benchmark_group(format!("relief_{n}"));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for (backend, engine) in &engines {
        group.bench_function(*backend, |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_file(&out);
                },
                |()| engine.run_to_file(&job, Input::Image(&source), &out, &Silent).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(heightmap, benches);
criterion_main!(heightmap);
