//! Criterion benchmarks of text to 3D: 100 characters as a keychain, the figure, in
//! the bundled font, written as binary STL into a sink (layout, field, marching cubes,
//! thumbnail, writing and the check: everything `lithos convert --mode text` does but the
//! disk). Each case also prints one run's stages.
//!
//! Run with `cargo bench --bench text`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lithos_engine::{Input, JobMode, JobRequest, Silent};
use serde_json::json;

#[path = "common/engines.rs"]
mod common;
use common::engines;

/// 100 characters: four lines of 25 (a keychain that holds a short message) and one line of
/// 100 (a long name plate), at the default 10 mm letters on the default 0.2 mm field.
fn cases() -> Vec<(&'static str, serde_json::Value)> {
    let line = "Lithos makes text solid. ";
    assert_eq!(line.chars().count(), 25);
    vec![
        (
            "keychain_100_chars_4_lines",
            json!({ "text": line.repeat(4).trim_end().replace(". ", ".\n"), "layout": "keychain" }),
        ),
        ("keychain_100_chars_1_line", json!({ "text": line.repeat(4), "layout": "keychain" })),
    ]
}

fn benches(c: &mut Criterion) {
    for (backend, engine) in &engines() {
        for (name, request) in cases() {
            let request: JobRequest = serde_json::from_value(request).unwrap();
            let job = request.build(JobMode::Text, None).unwrap();
            let run = || engine.run(&job, Input::None, std::io::sink(), &Silent).unwrap();
            let report = run();
            let stages: Vec<String> = report
                .stages
                .iter()
                .map(|s| format!("{} {:.3} s", s.stage.name(), s.seconds))
                .collect();
            eprintln!(
                "{name} on {backend}: {:.3} s, {} triangles, {:?} voxels, {:.1} x {:.1} mm, \
                 check passed {}; {}",
                report.seconds,
                report.triangles,
                report.voxels,
                report.size_mm[0],
                report.size_mm[1],
                report.check.passed(),
                stages.join(", ")
            );
            let mut group = c.benchmark_group(name);
            group.sample_size(10);
            group.bench_function(BenchmarkId::new(*backend, "conversion"), |b| b.iter(run));
            group.finish();
        }
    }
}

criterion_group!(text, benches);
criterion_main!(text);
