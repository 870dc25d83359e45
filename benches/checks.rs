//! Criterion benchmarks of the check every output passes ([`lithos_engine::check`]): the
//! check alone against the conversion it belongs to, for a relief at 1024 and 4096 (full grid
//! and adaptive) and a 256^3 volume. Each group also prints the check stage's share of one
//! run: the time it added to the conversion, since it runs beside the writing.
//!
//! Run with `cargo bench --bench checks`. Conversions write into a sink, as the thumbnail
//! benchmarks do, so that the disk does not set the pace.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lithos_engine::check::Check;
use lithos_engine::params::Detail;
use lithos_engine::{
    ConvertParams, Engine, Input, IsoOptions, Job, JobKind, MeshFormat, Report, Silent,
    SourceImage, Stage, VolumeParams, VolumeSource,
};

#[path = "common/engines.rs"]
mod common;
use common::{engines, gyroid, synthetic};

/// The check stage's share of a run, printed.
fn share(label: &str, report: &Report) {
    let check = report.stages.iter().find(|s| s.stage == Stage::Check).map_or(0.0, |s| s.seconds);
    eprintln!(
        "{label}: check stage {check:.3} s of {:.3} s ({:.1}%), {} triangles, passed {}",
        report.seconds,
        100.0 * check / report.seconds,
        report.triangles,
        report.check.passed()
    );
}

fn relief(c: &mut Criterion, engine: &Engine, backend: &str, n: u32, detail: Detail) {
    let source = SourceImage::from_image(synthetic(n));
    let params = ConvertParams { detail, ..ConvertParams::default() };
    let name = match detail {
        Detail::Full => format!("relief_{n}"),
        _ => format!("relief_{n}_adaptive"),
    };
    let mut group = c.benchmark_group(&name);
    group.sample_size(10);
    let job = Job { kind: JobKind::Relief(params), format: MeshFormat::Stl, backlit: false };
    let run = || engine.run(&job, Input::Image(&source), std::io::sink(), &Silent).unwrap();
    share(&format!("{name} on {backend}"), &run());
    group.bench_function(BenchmarkId::new(backend, "conversion"), |b| b.iter(run));
    let hf = engine.heightfield(&source, &params, &Silent, &mut Vec::new()).unwrap();
    group.bench_function(BenchmarkId::new(backend, "check"), |b| {
        b.iter(|| Check::of_heightfield(black_box(&hf)).unwrap())
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for (backend, engine) in &engines() {
        relief(c, engine, backend, 1024, Detail::Full);
        relief(c, engine, backend, 4096, Detail::Full);
        relief(c, engine, backend, 4096, Detail::MaxErrorMm(0.05));

        let volume = gyroid(256);
        let mut group = c.benchmark_group("volume_256");
        group.sample_size(10);
        let job = Job {
            kind: JobKind::Volume(
                VolumeParams { iso: Some(0.0), ..VolumeParams::default() },
                VolumeSource::Detect,
            ),
            format: MeshFormat::Stl,
            backlit: false,
        };
        let run = || engine.run(&job, Input::Volume(&volume), std::io::sink(), &Silent).unwrap();
        share(&format!("volume_256 on {backend}"), &run());
        group.bench_function(BenchmarkId::new(*backend, "conversion"), |b| b.iter(run));
        let mesh = engine.isosurface(&volume, &IsoOptions::new(0.0), &Silent).unwrap();
        group.bench_function(BenchmarkId::new(*backend, "check"), |b| {
            b.iter(|| Check::of_mesh(black_box(&mesh.positions), &mesh.triangles))
        });
        group.finish();
    }
}

criterion_group!(checks, benches);
criterion_main!(checks);
