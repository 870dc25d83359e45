//! `lithos info`: the GPU adapters wgpu finds, and what `--backend auto` picks.

use std::process::ExitCode;

use lithos_engine::gpu::list_adapters;
use serde_json::json;

use crate::cli::InfoArgs;

pub fn run(args: &InfoArgs) -> ExitCode {
    let adapters = list_adapters();
    let auto = adapters.iter().find(|a| a.hardware);
    let auto_name = auto.map_or_else(
        || format!("cpu ({} threads)", std::thread::available_parallelism().map_or(1, |n| n.get())),
        |a| format!("gpu: {}", a.name),
    );
    if args.json {
        println!("{}", json!({ "adapters": adapters, "auto": auto_name }));
        return ExitCode::SUCCESS;
    }
    if adapters.is_empty() {
        println!("no GPU adapters found");
    }
    for a in &adapters {
        let kind = if a.hardware { "hardware" } else { "software" };
        println!("{} ({}, {}, {kind}) driver: {}", a.name, a.backend, a.device_type, a.driver);
    }
    println!("--backend auto uses: {auto_name}");
    ExitCode::SUCCESS
}
