//! GPU kernel times from timestamp queries: a conversion's report names every kernel its
//! passes ran (and the thumbnail's render pass), each with its time, within the wall time;
//! the CPU reports none.

use lithos_engine::{
    BackendChoice, Engine, EngineOptions, Input, JobMode, JobRequest, MeshFormat, Silent,
};
use serde_json::json;

use crate::helpers::{cpu, load};

#[test]
fn a_gpu_conversion_reports_the_time_of_each_kernel() {
    if crate::helpers::gpu().is_none() {
        return;
    }
    // An engine of its own: the tests that share the other one would add their passes.
    let gpu =
        Engine::new(&EngineOptions { backend: BackendChoice::Gpu, gpu_limits: None }).unwrap();
    let request = json!({ "max_grid": 300, "blur_px": 1.5, "width_mm": 60 });
    let job = serde_json::from_value::<JobRequest>(request)
        .unwrap()
        .build(JobMode::Lithophane, Some(MeshFormat::Stl))
        .unwrap();
    let image = load("camera.png");
    let report = gpu.run(&job, Input::Image(&image), std::io::sink(), &Silent).unwrap();
    let names: Vec<&str> = report.kernels.iter().map(|k| k.kernel).collect();
    // lavapipe, CI's adapter, has timestamp queries; so do the GPUs Lithos is used on.
    for kernel in ["luminance", "resample", "blur", "thickness", "top_surface", "thumbnail"] {
        assert!(names.contains(&kernel), "{kernel} missing from {names:?}");
    }
    let total: f64 = report.kernels.iter().map(|k| k.seconds).sum();
    assert!(report.kernels.iter().all(|k| k.seconds > 0.0), "{:?}", report.kernels);
    assert!(total <= report.seconds, "kernels {total} s within the run's {} s", report.seconds);
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["kernels"]["thickness"].as_f64().unwrap() > 0.0, "{json}");

    // A second run reports its own passes only.
    let again = gpu.run(&job, Input::Image(&image), std::io::sink(), &Silent).unwrap();
    let count = |r: &lithos_engine::Report| r.kernels.len();
    assert_eq!(count(&again), count(&report));

    let on_cpu = cpu().run(&job, Input::Image(&image), std::io::sink(), &Silent).unwrap();
    assert!(on_cpu.kernels.is_empty());
    assert!(serde_json::to_value(&on_cpu).unwrap().get("kernels").is_none());
}
