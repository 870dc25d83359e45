//! Criterion benchmarks of marching cubes: the gyroid
//! `sin x cos y + sin y cos z + sin z cos x` over [0, 4 pi]^3 at isovalue 0, as the
//! isosurface issue sets it, on each backend; plus a solid from an image mask.
//!
//! Run with `cargo bench --bench isosurface`. `LITHOS_BENCH_GYROID` lists the sizes
//! (default `256,384`); GPU groups run when wgpu finds an adapter (lavapipe counts).
//! With `LITHOS_BENCH_RAW_DIR`, the volumes are read from `gyroid<n>.raw` there (as written by
//! `benches/peers/make_gyroid.py`) instead of computed, so peers can read the same bytes.
//! `benches/peers/compare_isosurface.sh` runs VTK's Flying Edges on the same volume in the
//! same run and prints the ratio.

use std::hint::black_box;
use std::time::Duration;

/// The allocator the `lithos` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lithos_engine::{DecodeLimits, IsoOptions, RawType, Silent, VolumeSource};

#[path = "common/engines.rs"]
mod common;
use common::{engines, gyroid};

fn sizes() -> Vec<usize> {
    std::env::var("LITHOS_BENCH_GYROID")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![256, 384])
}

fn benches(c: &mut Criterion) {
    let engines = engines();
    for n in sizes() {
        let volume = match std::env::var_os("LITHOS_BENCH_RAW_DIR") {
            Some(dir) => {
                let path = std::path::Path::new(&dir).join(format!("gyroid{n}.raw"));
                let source = VolumeSource::Raw { dims: [n; 3], sample: RawType::F32 };
                lithos_engine::volume::load(&path, source, DecodeLimits::default()).unwrap()
            }
            None => gyroid(n),
        };
        let mut group = c.benchmark_group(format!("gyroid_{n}"));
        group.sample_size(10).measurement_time(Duration::from_secs(10));
        group.throughput(Throughput::Elements((n * n * n) as u64));
        for (backend, engine) in &engines {
            let mesh = engine.isosurface(&volume, &IsoOptions::new(0.0), &Silent).unwrap();
            eprintln!("gyroid {n}^3 on {backend}: {} triangles", mesh.triangles.len());
            group.bench_function(BenchmarkId::new(*backend, "isosurface"), |b| {
                b.iter(|| {
                    black_box(engine.isosurface(&volume, &IsoOptions::new(0.0), &Silent).unwrap())
                });
            });
        }
        group.finish();
    }
}

criterion_group!(isosurface, benches);
criterion_main!(isosurface);
