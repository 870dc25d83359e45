//! The GPU table: every engine workload once warm, then the best of three, on whatever GPU
//! wgpu finds (lavapipe counts), with its kernels' times from timestamp queries, printed as
//! a Markdown table. `benches/gpu.sh` runs it; on a lent GPU its output goes in the note.
//!
//! Workloads: a 4096 x 4096 relief to binary STL (into a sink), the gyroid at the sizes in
//! `LITHOS_GPU_TABLE_GYROID` (default `256,512`) to STL, and the output's thumbnail (its render
//! pass, from the relief's run), and the relief again with an adaptive surface within 0.02 mm
//! (the error pyramid is the `rtin_error` kernel; vertex removal runs on the CPU).

use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lithos_engine::{
    BackendChoice, Engine, EngineOptions, Input, JobMode, JobRequest, MeshFormat, Report, Silent,
    SourceImage, Volume,
};

#[path = "common/engines.rs"]
mod common;

/// The best of three warm runs of `run`.
fn best(run: impl Fn() -> Report) -> Report {
    run();
    (0..3).map(|_| run()).min_by(|a, b| a.seconds.total_cmp(&b.seconds)).expect("three runs")
}

fn row(workload: &str, report: &Report, wall: f64) {
    let total: f64 =
        report.kernels.iter().filter(|k| k.kernel != "thumbnail").map(|k| k.seconds).sum();
    let mut kernels: Vec<_> = report.kernels.iter().filter(|k| k.kernel != "thumbnail").collect();
    kernels.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let each: Vec<String> =
        kernels.iter().map(|k| format!("{} {:.1}", k.kernel, k.seconds * 1e3)).collect();
    println!(
        "| {workload} | {:.1} M | {:.0} | {:.0} | {} |",
        report.triangles as f64 / 1e6,
        wall * 1e3,
        total * 1e3,
        each.join(", ")
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let gpu = match Engine::new(&EngineOptions { backend: BackendChoice::Gpu, gpu_limits: None }) {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("no GPU adapter: {e}");
            return;
        }
    };
    println!("GPU: {}\n", gpu.adapter());
    println!("| workload | triangles | wall ms | kernels ms | per kernel, ms |");
    println!("| --- | --- | --- | --- | --- |");

    let n = std::env::var("LITHOS_BENCH_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(4096);
    let image = SourceImage::from_image(common::synthetic(n));
    let relief = JobRequest::default().build(JobMode::Relief, Some(MeshFormat::Stl)).unwrap();
    let run = || {
        let start = Instant::now();
        let mut report = gpu.run(&relief, Input::Image(&image), std::io::sink(), &Silent).unwrap();
        report.seconds = start.elapsed().as_secs_f64();
        report
    };
    let report = best(run);
    row(&format!("relief {n}², full grid"), &report, report.seconds);
    let thumbnail =
        report.kernels.iter().find(|k| k.kernel == "thumbnail").map_or(0.0, |k| k.seconds);
    let thumbnail_stage =
        report.stages.iter().find(|s| s.stage.name() == "thumbnail").map_or(0.0, |s| s.seconds);
    println!(
        "| thumbnail of that relief, render pass | | {:.1} (added to the run) | {:.1} | thumbnail {:.1} |",
        thumbnail_stage * 1e3,
        thumbnail * 1e3,
        thumbnail * 1e3
    );

    let adaptive =
        serde_json::from_value::<JobRequest>(serde_json::json!({ "max_error_mm": 0.02 }))
            .unwrap()
            .build(JobMode::Relief, Some(MeshFormat::Stl))
            .unwrap();
    let run = || {
        let start = Instant::now();
        let mut report =
            gpu.run(&adaptive, Input::Image(&image), std::io::sink(), &Silent).unwrap();
        report.seconds = start.elapsed().as_secs_f64();
        report
    };
    let report = best(run);
    row(&format!("relief {n}², adaptive within 0.02 mm"), &report, report.seconds);

    let sizes = std::env::var("LITHOS_GPU_TABLE_GYROID").unwrap_or_else(|_| "256,512".into());
    let volume_job = serde_json::from_value::<JobRequest>(serde_json::json!({ "iso": 0.0 }))
        .unwrap()
        .build(JobMode::Volume, Some(MeshFormat::Stl))
        .unwrap();
    for n in sizes.split(',').filter_map(|s| s.trim().parse::<usize>().ok()) {
        let volume: Volume = common::gyroid(n);
        let run = || {
            let start = Instant::now();
            let mut report =
                gpu.run(&volume_job, Input::Volume(&volume), std::io::sink(), &Silent).unwrap();
            report.seconds = start.elapsed().as_secs_f64();
            report
        };
        let report = best(run);
        row(&format!("gyroid {n}³ marching cubes"), &report, report.seconds);
    }
}
