//! `lithos convert`: one image to one mesh file.

use std::process::ExitCode;

use lithos_engine::{Engine, EngineError, EngineOptions, Report};
use serde_json::json;

use crate::cli::{ConvertArgs, ModeArg};
use crate::progress_bar::Bar;

/// Exit status for arguments that cannot work, as clap uses for its own parse errors.
const EXIT_BAD_ARGUMENTS: u8 = 2;
const EXIT_FAILED: u8 = 1;

pub fn run(args: ConvertArgs) -> ExitCode {
    let input = args.input.display().to_string();
    let fail = |code: u8, message: String| {
        if args.json {
            println!("{}", json!({ "error": message, "input": input }));
        }
        eprintln!("error: cannot convert `{input}`: {message}");
        ExitCode::from(code)
    };
    let params = match args.params() {
        Ok(params) => params,
        Err(message) => return fail(EXIT_BAD_ARGUMENTS, message),
    };
    let volume = match args.volume_params() {
        Ok(volume) => volume,
        Err(message) => return fail(EXIT_BAD_ARGUMENTS, message),
    };
    let solid = args.solid_params();
    let checked = match args.mode {
        ModeArg::Volume => volume.validate(),
        ModeArg::Solid => params.validate().and_then(|()| solid.validate()),
        ModeArg::Relief | ModeArg::Lithophane => params.validate(),
    };
    if let Err(e) = checked {
        return fail(EXIT_BAD_ARGUMENTS, describe(&EngineError::from(e)));
    }
    let output = args.output_path();
    let engine = match Engine::new(&EngineOptions { backend: args.backend(), gpu_limits: None }) {
        Ok(engine) => engine,
        Err(e) => return fail(EXIT_FAILED, describe(&e)),
    };
    let bar = Bar::new(!args.json);
    let (input, limits, format) = (&args.input, args.limits(), args.format());
    let result = match args.mode {
        ModeArg::Volume => engine.convert_volume(
            input,
            args.volume_source(),
            limits,
            &volume,
            format,
            &output,
            &bar,
        ),
        ModeArg::Solid => {
            engine.convert_solid(input, limits, &params, &solid, format, &output, &bar)
        }
        ModeArg::Relief | ModeArg::Lithophane => {
            engine.convert_file(input, limits, &params, format, &output, &bar)
        }
    };
    bar.finish();
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", to_json(&report, &output.display().to_string()));
            } else {
                println!(
                    "wrote {} ({} triangles, {:.1} MB, {:.1} x {:.1} x {:.1} mm) in {:.2} s on {}",
                    output.display(),
                    report.triangles,
                    report.bytes as f64 / 1e6,
                    report.size_mm[0],
                    report.size_mm[1],
                    report.size_mm[2],
                    report.seconds,
                    report.adapter,
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.is_invalid_parameter() { EXIT_BAD_ARGUMENTS } else { EXIT_FAILED };
            fail(code, describe(&e))
        }
    }
}

/// The engine's message, with parameter names spelled as flags: the field an error is about,
/// and every name the engine quotes in backticks (`max_grid` becomes --max-grid).
fn describe(error: &EngineError) -> String {
    match error {
        EngineError::InvalidParameter(p) => {
            format!("--{} {}", p.field.replace('_', "-"), flags(&p.message))
        }
        other => flags(&other.to_string()),
    }
}

fn flags(message: &str) -> String {
    if message.matches('`').count() % 2 == 1 {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        let quoted = i % 2 == 1;
        if quoted && !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.push_str("--");
            out.push_str(&part.replace('_', "-"));
        } else if quoted {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            out.push_str(part);
        }
    }
    out
}

fn to_json(report: &Report, output: &str) -> serde_json::Value {
    let stages: serde_json::Map<String, serde_json::Value> =
        report.stages.iter().map(|s| (s.stage.name().to_owned(), json!(s.seconds))).collect();
    json!({
        "output": output,
        "triangles": report.triangles,
        "bytes": report.bytes,
        "backend": report.backend,
        "adapter": report.adapter,
        "seconds": report.seconds,
        "stages": stages,
        "grid": report.grid,
        "size_mm": report.size_mm,
        "vertices": report.vertices,
        "voxels": report.voxels,
        "iso": report.iso,
    })
}
