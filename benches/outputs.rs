//! Criterion benchmarks of issue 19's outputs: a 4096 x 4096 relief written as 3MF against
//! binary STL (time here, sizes printed), and the thumbnail at 1 and 16 megapixels against
//! the conversion it belongs to.
//!
//! Run with `cargo bench --bench outputs`. GPU groups run when wgpu finds an adapter
//! (lavapipe counts); set `LITHOS_BENCH_SIZE` to change the 4096 grid.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lithos_engine::thumbnail;
use lithos_engine::{ConvertParams, Input, Job, JobKind, MeshFormat, Silent, SourceImage};

#[path = "common/engines.rs"]
mod common;
use common::engines;
use common::synthetic;

fn size() -> u32 {
    std::env::var("LITHOS_BENCH_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(4096)
}

fn benches(c: &mut Criterion) {
    let engines = engines();
    let params = ConvertParams::default();

    // The thumbnail, whole (triangles from the thickness map, render, PNG) and by part,
    // beside the conversion of the same image into a sink.
    for n in [1024, 4096] {
        let source = SourceImage::from_image(synthetic(n));
        let mut group = c.benchmark_group(format!("thumbnail_{}mp", n * n / 1_000_000));
        group.sample_size(10);
        for (backend, engine) in &engines {
            let hf = engine.heightfield(&source, &params, &Silent, &mut Vec::new()).unwrap();
            let triangles = thumbnail::heightfield_triangles(&hf);
            let picture = engine.thumbnail(&triangles).unwrap();
            group.bench_function(BenchmarkId::new(*backend, "whole"), |b| {
                b.iter(|| {
                    let triangles = thumbnail::heightfield_triangles(black_box(&hf));
                    thumbnail::png(&engine.thumbnail(&triangles).unwrap())
                })
            });
            group.bench_function(BenchmarkId::new(*backend, "triangles"), |b| {
                b.iter(|| thumbnail::heightfield_triangles(black_box(&hf)))
            });
            group.bench_function(BenchmarkId::new(*backend, "render"), |b| {
                b.iter(|| engine.thumbnail(black_box(&triangles)).unwrap())
            });
            group.bench_function(BenchmarkId::new(*backend, "png"), |b| {
                b.iter(|| thumbnail::png(black_box(&picture)))
            });
            // What the conversion was before thumbnails: the stages and the mesh.
            group.bench_function(BenchmarkId::new(*backend, "without_thumbnail"), |b| {
                b.iter(|| {
                    let hf =
                        engine.heightfield(&source, &params, &Silent, &mut Vec::new()).unwrap();
                    engine.write_mesh(&hf, MeshFormat::Stl, std::io::sink(), &Silent).unwrap()
                })
            });
            let job =
                Job { kind: JobKind::Relief(params), format: MeshFormat::Stl, backlit: false };
            group.bench_function(BenchmarkId::new(*backend, "conversion"), |b| {
                b.iter(|| {
                    engine.run(&job, Input::Image(&source), std::io::sink(), &Silent).unwrap()
                })
            });
        }
        group.finish();
    }

    // 3MF against binary STL: the same relief into a file.
    let n = size();
    let source = SourceImage::from_image(synthetic(n));
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (_, engine) = &engines[0];
    let hf = engine.heightfield(&source, &params, &Silent, &mut Vec::new()).unwrap();
    let mut group = c.benchmark_group(format!("formats_{n}"));
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(hf.triangle_count()));
    for format in [MeshFormat::Stl, MeshFormat::ThreeMf, MeshFormat::Glb] {
        let path = dir.path().join(format!("relief.{}", format.extension()));
        let write = || {
            let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            engine.write_mesh(&hf, format, file, &Silent).unwrap()
        };
        let stats = write();
        eprintln!(
            "{n}x{n} relief as {format}: {} triangles, {} bytes ({:.3} of binary STL's {})",
            stats.triangles,
            stats.bytes,
            stats.bytes as f64 / (84.0 + 50.0 * stats.triangles as f64),
            84 + 50 * stats.triangles
        );
        group.bench_function(format.name(), |b| b.iter(write));
    }
    group.finish();
}

criterion_group!(outputs, benches);
criterion_main!(outputs);
