//! `lithos convert`: one image to one mesh file.

use std::process::ExitCode;

use lithos_engine::job::cli::as_flags as flags;
use lithos_engine::{Engine, EngineError, EngineOptions, Input, JobKind, JobMode, Progress, Stage};
use lithos_server::generation::{Photo, Subject};
use serde_json::json;

use crate::cli::ConvertArgs;
use crate::progress_bar::Bar;

/// Exit status for arguments that cannot work, as clap uses for its own parse errors.
const EXIT_BAD_ARGUMENTS: u8 = 2;
const EXIT_FAILED: u8 = 1;

pub fn run(args: ConvertArgs) -> ExitCode {
    let input = match &args.input {
        Some(path) => path.display().to_string(),
        None if args.mode == JobMode::Prompt => "the prompt".to_owned(),
        None => "the text".to_owned(),
    };
    let fail = |code: u8, message: String| {
        if args.json {
            println!("{}", json!({ "error": message, "input": input }));
        }
        eprintln!("error: cannot convert `{input}`: {message}");
        ExitCode::from(code)
    };
    let mut job = match args.job() {
        Ok(job) => job,
        Err(e) => return fail(EXIT_BAD_ARGUMENTS, describe(&EngineError::from(e))),
    };
    let output = args.output_path(&job);
    if args.preview && !job.has_picture() {
        return fail(
            EXIT_BAD_ARGUMENTS,
            "--preview applies only to --mode lithophane, or a relief with --palette".into(),
        );
    }
    job.backlit = args.preview;
    let engine = match Engine::new(&EngineOptions { backend: args.backend, gpu_limits: None }) {
        Ok(engine) => engine,
        Err(e) => return fail(EXIT_FAILED, describe(&e)),
    };
    let bar = Bar::new(!args.json);
    // A generated model comes from the provider first, made of the prompt or of the photo;
    // the engine repairs it as a 3D file.
    let generated = match (&job.kind, &args.input) {
        (JobKind::Prompt(params), _) => Some(generate(Subject::Prompt(&params.prompt), &bar)),
        (JobKind::Sculpt(_), Some(path)) => Some(
            std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| Photo::prepare(&bytes))
                .and_then(|photo| generate(Subject::Photo(&photo), &bar)),
        ),
        _ => None,
    };
    let generated = match generated.transpose() {
        Ok(generated) => generated,
        Err(message) => {
            bar.finish();
            return fail(EXIT_FAILED, message);
        }
    };
    let source = match &generated {
        Some(bytes) => Input::Encoded { bytes, limits: args.limits() },
        None => args.source(),
    };
    let result = engine.run_to_file(&job, source, &output, &bar);
    bar.finish();
    match result {
        Ok(report) => {
            let picture = match (&report.backlit, &report.colours) {
                (Some(grey), _) => Some(("backlit.png", lithos_engine::backlit::png(grey))),
                (None, Some(colours)) => {
                    Some(("colours.png", lithos_engine::palette::png(colours)))
                }
                (None, None) => None,
            };
            let preview = match picture.filter(|_| args.preview) {
                Some((suffix, png)) => match write_beside(&output, suffix, &png) {
                    Ok(path) => Some(path),
                    Err(e) => return fail(EXIT_FAILED, format!("the preview: {e}")),
                },
                None => None,
            };
            let layers = job.image_params().and_then(|p| p.mode.layers());
            let swap_text = layers
                .map(|layers| lithos_engine::palette::swap_text(&layers, &report.swaps))
                .unwrap_or_default();
            let swaps = match report.swaps.is_empty() {
                true => None,
                false => match write_beside(&output, "swaps.txt", swap_text.as_bytes()) {
                    Ok(path) => Some(path),
                    Err(e) => return fail(EXIT_FAILED, format!("the swap list: {e}")),
                },
            };
            let thumbnail = match (args.thumbnail, &report.thumbnail) {
                (true, Some(png)) => match write_beside(&output, "thumb.png", png) {
                    Ok(path) => Some(path),
                    Err(e) => return fail(EXIT_FAILED, format!("the thumbnail: {e}")),
                },
                _ => None,
            };
            if args.json {
                let mut printed = serde_json::to_value(&report).expect("a report serialises");
                printed["output"] = json!(output.display().to_string());
                if let Some(path) = &preview {
                    printed["preview"] = json!(path.display().to_string());
                }
                if let Some(path) = &thumbnail {
                    printed["thumbnail"] = json!(path.display().to_string());
                }
                if let Some(path) = &swaps {
                    printed["swap_list"] = json!(path.display().to_string());
                }
                println!("{printed}");
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
                let check = &report.check;
                println!(
                    "checked: closed, manifold and oriented; {} shell{}, {:.1} cm³",
                    check.shells,
                    if check.shells == 1 { "" } else { "s" },
                    check.volume_mm3 / 1000.0
                );
                if let Some(path) = &preview {
                    let what = if report.colours.is_some() { "colours" } else { "lit from behind" };
                    println!("wrote {} ({what})", path.display());
                }
                if let Some(path) = &thumbnail {
                    println!("wrote {} (thumbnail)", path.display());
                }
                if let Some(path) = &swaps {
                    println!("wrote {} (filament swaps):\n{swap_text}", path.display());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.is_invalid_parameter() { EXIT_BAD_ARGUMENTS } else { EXIT_FAILED };
            fail(code, describe(&e))
        }
    }
}

/// The model the AI generation provider makes of `subject`: the one the environment's
/// `LITHOS_GENERATION_*` settings name, as `lithos serve` reads them.
fn generate(subject: Subject<'_>, bar: &Bar) -> Result<Vec<u8>, String> {
    use lithos_server::config::{Config, Layer};
    use lithos_server::generation::{Failure, Generator};
    let env = Layer::from_env(std::env::vars())?;
    let config = Config::resolve(None, env, Layer::default());
    let generation = config.generation()?.ok_or(
        "prompts and sculpts go to an AI generation provider: set LITHOS_GENERATION_PROVIDER \
         (meshy or tripo) and LITHOS_GENERATION_API_KEY",
    )?;
    let generator = Generator::new(generation);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    bar.stage(Stage::Generate);
    let followed = runtime.block_on(async {
        let id = generator.create(subject).await.map_err(Failure::from)?;
        generator.follow(subject.kind(), &id, config.max_upload_bytes, bar).await
    });
    followed.map_err(|failure| match failure {
        Failure::Transient(message) | Failure::Failed(message) => message,
        Failure::Canceled => "canceled".into(),
    })
}

/// Writes `bytes` beside `output` as `NAME.<suffix>`, whole or not at all.
fn write_beside(
    output: &std::path::Path,
    suffix: &str,
    bytes: &[u8],
) -> Result<std::path::PathBuf, String> {
    let path = output.with_extension(suffix);
    let partial = output.with_extension(format!("{suffix}.partial"));
    std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &path)).map_err(
        |e| {
            let _ = std::fs::remove_file(&partial);
            e.to_string()
        },
    )?;
    Ok(path)
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
