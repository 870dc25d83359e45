//! The `lithos` binary: outputs, JSON, exit codes and error messages, and no partial files.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::data;

fn lithos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithos")).args(args).output().expect("run lithos")
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Files in `dir`, to show nothing half-written was left behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn convert_writes_the_mesh_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("camera.stl");
    let output = lithos(&[
        "convert",
        data("camera.png").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--width-mm",
        "80",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    let size = std::fs::metadata(&out).unwrap().len();
    assert_eq!(report["bytes"], size);
    assert_eq!(report["triangles"].as_u64().unwrap() * 50 + 84, size);
    assert_eq!(report["backend"], "cpu");
    assert!(report["adapter"].as_str().unwrap().starts_with("CPU"));
    assert!(report["seconds"].as_f64().unwrap() > 0.0);
    for stage in ["decode", "luminance", "resample", "blur", "thickness", "mesh"] {
        assert!(report["stages"][stage].as_f64().is_some(), "stage {stage} timed");
    }
    assert_eq!(report["size_mm"][0], 80.0);
    let mesh = lithos_engine::inspect::inspect_stl(std::fs::File::open(&out).unwrap()).unwrap();
    assert!(mesh.is_closed_manifold());
    assert_eq!(listing(dir.path()), ["camera.stl"], "no temporary file is left");
}

#[test]
fn ascii_output_and_default_output_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("horse.png");
    std::fs::copy(data("horse.png"), &input).unwrap();
    let output = lithos(&[
        "convert",
        input.to_str().unwrap(),
        "--mask",
        "alpha",
        "--max-grid",
        "64",
        "--format",
        "stl-ascii",
        "--backend",
        "cpu",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text =
        std::fs::read_to_string(dir.path().join("horse.stl")).expect("written beside the input");
    assert!(text.starts_with("solid lithos"));
    let mesh = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(text.as_bytes())).unwrap();
    assert!(mesh.is_closed_manifold());
}

#[test]
fn a_corrupt_input_fails_with_exit_1_and_keeps_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("broken.png");
    let camera = std::fs::read(data("camera.png")).unwrap();
    std::fs::write(&input, &camera[..camera.len() / 3]).unwrap();
    let out = dir.path().join("broken.stl");
    std::fs::write(&out, "previous result").unwrap();
    let output = lithos(&[
        "convert",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("broken.png"), "names the input: {message}");
    assert!(message.contains("corrupt or truncated"), "{message}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous result", "old output untouched");
    assert_eq!(listing(dir.path()), ["broken.png", "broken.stl"], "no partial file");
}

#[test]
fn bad_arguments_exit_2_and_name_the_flag() {
    let input = data("camera.png");
    let input = input.to_str().unwrap();
    for (args, needle) in [
        (vec!["--base-mm", "-1"], "--base-mm"),
        (vec!["--base-mm", "0"], "--base-mm"),
        (vec!["--mode", "lithophane", "--min-mm", "3", "--max-mm", "1"], "--max-mm"),
        (vec!["--min-mm", "1"], "--min-mm applies only to --mode lithophane"),
        (vec!["--gamma", "0"], "--gamma"),
        (vec!["--threshold", "0.5"], "--mask"),
        (vec!["--width-mm", "abc"], "--width-mm"),
        (vec!["--width-mm", "10", "--pixel-mm", "0.1"], "--pixel-mm"),
        (vec!["--max-grid", "1"], "--max-grid"),
        // Vanishing and enormous lengths (the hardening probe's), and a 10 km model.
        (
            vec!["--mode", "solid", "--pixel-mm", "2.220446049250313e-16", "--depth-mm", "1"],
            "--pixel-mm",
        ),
        (vec!["--width-mm", "1e-40"], "--width-mm"),
        (vec!["--base-mm", "5e-324"], "--base-mm"),
        (vec!["--pixel-mm", "20"], "--pixel-mm"),
    ] {
        let mut all = vec!["convert", input, "-o", "/tmp/never-written.stl", "--backend", "cpu"];
        all.extend(&args);
        let output = lithos(&all);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(needle), "{args:?}: {}", stderr(&output));
    }
    assert!(!Path::new("/tmp/never-written.stl").exists());
}

#[test]
fn a_solid_of_billions_of_voxels_is_refused_before_it_is_built() {
    // Each length is fine; the voxels (a micrometre pitch a metre deep) are not. Before the
    // voxel count was saturating it wrapped, and this ran for as long as anyone waited.
    let args = ["--mode", "solid", "--pixel-mm", "0.001", "--depth-mm", "1000", "--backend", "cpu"];
    let input = data("camera.png");
    let mut all = vec!["convert", input.to_str().unwrap(), "-o", "/tmp/never.stl"];
    all.extend(args);
    let output = lithos(&all);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("voxels"), "{message}");
    // The engine names parameters as the API does; the CLI shows them as flags.
    assert!(message.contains("(--max-grid)") && message.contains("(--depth-mm)"), "{message}");
    assert!(!Path::new("/tmp/never.stl").exists());
}

#[test]
fn failures_exit_1_with_an_actionable_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no/such/dir/out.stl");
    let output = lithos(&[
        "convert",
        data("camera.png").to_str().unwrap(),
        "-o",
        missing_dir.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("does not exist"), "{}", stderr(&output));

    let output =
        lithos(&["convert", dir.path().join("absent.png").to_str().unwrap(), "--backend", "cpu"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("absent.png") && stderr(&output).contains("cannot read"));

    let small = lithos(&[
        "convert",
        data("camera.png").to_str().unwrap(),
        "-o",
        dir.path().join("x.stl").to_str().unwrap(),
        "--max-megapixels",
        "0.1",
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(small.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&small.stdout).unwrap();
    assert!(error["error"].as_str().unwrap().contains("megapixels"), "{error}");
}

#[test]
fn info_lists_adapters_and_the_auto_choice() {
    let output = lithos(&["info", "--json"]);
    assert!(output.status.success());
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let adapters = info["adapters"].as_array().unwrap();
    let auto = info["auto"].as_str().unwrap();
    match adapters.iter().find(|a| a["hardware"] == true) {
        Some(hardware) => assert!(auto.contains(hardware["name"].as_str().unwrap())),
        None => assert!(auto.starts_with("cpu"), "software adapters never count for auto: {auto}"),
    }
}

#[test]
fn without_a_vulkan_driver_gpu_fails_clearly_and_auto_uses_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.stl");
    let run = |backend: &str| {
        Command::new(env!("CARGO_BIN_EXE_lithos"))
            .args(["convert", data("coins.png").to_str().unwrap(), "-o", out.to_str().unwrap()])
            .args(["--backend", backend, "--max-grid", "64", "--json"])
            // Point the Vulkan loader at a driver list that does not exist: no adapters.
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .output()
            .unwrap()
    };
    let gpu = run("gpu");
    assert_eq!(gpu.status.code(), Some(1), "{}", stderr(&gpu));
    assert!(stderr(&gpu).contains("no GPU adapter was found"), "{}", stderr(&gpu));
    assert!(!out.exists());
    let auto = run("auto");
    assert!(auto.status.success(), "{}", stderr(&auto));
    let report: serde_json::Value = serde_json::from_slice(&auto.stdout).unwrap();
    assert_eq!(report["backend"], "cpu");
}

/// A u8 ball, 20 voxels across, as a raw file.
fn raw_ball(path: &Path) {
    let n = 20usize;
    let mut bytes = Vec::with_capacity(n * n * n);
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let d = [x, y, z].map(|i| (i as f32 - 9.5).powi(2)).iter().sum::<f32>().sqrt();
                bytes.push(if d < 7.0 { 200 } else { 20 });
            }
        }
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn volume_mode_writes_an_indexed_isosurface() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("ball.raw");
    raw_ball(&raw);
    let raw_arg = raw.to_str().unwrap();
    let common = ["--mode", "volume", "--raw-dims", "20,20,20", "--raw-type", "u8"];
    let output = lithos(
        &[
            &["convert", raw_arg],
            &common[..],
            &["--format", "ply", "--spacing-mm", "0.5,0.5,0.5", "--json"],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let out = dir.path().join("ball.ply");
    assert_eq!(
        report["output"],
        out.to_str().unwrap(),
        "default name takes the format's extension"
    );
    assert_eq!(report["voxels"], serde_json::json!([20, 20, 20]));
    let iso = report["iso"].as_f64().unwrap();
    assert!(iso > 20.0 && iso < 200.0, "Otsu between the two values: {iso}");
    let header = std::fs::read(&out).unwrap();
    let header = String::from_utf8_lossy(&header[..200]);
    assert!(header.contains(&format!("element vertex {}", report["vertices"])), "{header}");
    // 14 voxels across at 0.5 mm, closed half a voxel beyond the last one inside.
    let size = report["size_mm"][0].as_f64().unwrap();
    assert!((size - 7.0).abs() < 0.5, "{size} mm across");

    // A truncated raw file: exit 1, and the message says what to check.
    let short = dir.path().join("short.raw");
    std::fs::write(&short, vec![0u8; 1000]).unwrap();
    let output = lithos(&[&["convert", short.to_str().unwrap()], &common[..]].concat());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("truncated") && stderr(&output).contains("--raw-dims"));
    assert!(!dir.path().join("short.stl").exists());

    // Flags of other modes are refused by name, with exit 2.
    for (args, flag) in [
        (vec!["--mode", "relief", "--iso", "3"], "--iso"),
        (vec!["--mode", "volume", "--depth-mm", "3"], "--depth-mm"),
        (vec!["--mode", "volume", "--smooth-vox", "-1"], "--smooth-vox"),
        (vec!["--mode", "volume", "--crop", "1,2,3"], "--crop"),
    ] {
        let output = lithos(&[&["convert", raw_arg], &args[..]].concat());
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(flag), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn solid_mode_extrudes_a_threshold_mask() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("horse.obj");
    let output = lithos(&[
        "convert",
        data("horse.png").to_str().unwrap(),
        "--mode",
        "solid",
        "--threshold",
        "0.5",
        "--invert",
        "--width-mm",
        "60",
        "--max-grid",
        "200",
        "--depth-mm",
        "4",
        "--bevel-mm",
        "1",
        "--format",
        "obj",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let size: Vec<f64> =
        report["size_mm"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let pitch = 60.0 / 199.0;
    assert!((size[2] - 4.0).abs() <= pitch / 2.0, "{size:?}");
    assert!(size[0] <= 60.0 + pitch && size[0] > 40.0, "{size:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let faces = text.lines().filter(|l| l.starts_with("f ")).count() as u64;
    assert_eq!(faces, report["triangles"].as_u64().unwrap());

    let output = lithos(&[
        "convert",
        data("horse.png").to_str().unwrap(),
        "--mode",
        "solid",
        "--depth-mm",
        "-2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--depth-mm"), "{}", stderr(&output));
}

#[test]
fn admin_commands_create_users_and_grant_credits() {
    use std::io::Write;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let migrate = lithos(&["migrate", "--data-dir", data]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    assert!(dir.path().join("lithos.db").exists());

    let create = |email: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lithos"))
            .args([
                "admin",
                "--data-dir",
                data,
                "create-user",
                "--email",
                email,
                "--password-stdin",
                "--admin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"a long admin password\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let created = create("root@example.org");
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(String::from_utf8_lossy(&created.stdout).contains("administrator root@example.org"));
    let again = create("ROOT@example.org");
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already has an account"), "{}", stderr(&again));

    let grant = lithos(&[
        "admin",
        "--data-dir",
        data,
        "grant",
        "--email",
        "root@example.org",
        "--credits",
        "5",
        "--reason",
        "launch",
    ]);
    assert!(grant.status.success(), "{}", stderr(&grant));
    assert!(String::from_utf8_lossy(&grant.stdout).contains("balance 25"), "20 free + 5");
    let overdraw = lithos(&[
        "admin",
        "--data-dir",
        data,
        "grant",
        "--email",
        "root@example.org",
        "--credits",
        "-26",
        "--reason",
        "oops",
    ]);
    assert_eq!(overdraw.status.code(), Some(1));
    assert!(stderr(&overdraw).contains("balance is 25"), "{}", stderr(&overdraw));
}

/// Each option of `lithos convert --help`, by name (without dashes, in snake_case), with its
/// help text, continuation lines joined.
fn help_options(help: &str) -> std::collections::BTreeMap<String, String> {
    let mut options = std::collections::BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        let flag = trimmed.strip_prefix("--").or_else(|| {
            (trimmed.len() > 4 && trimmed.starts_with('-') && &trimmed[2..4] == ", ")
                .then(|| trimmed[4..].strip_prefix("--"))
                .flatten()
        });
        match flag {
            Some(rest) => {
                options.extend(current.take());
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                let text = rest[name.len()..].to_owned();
                current = Some((name.replace('-', "_"), text));
            }
            None => {
                if let Some((_, text)) = &mut current {
                    text.push(' ');
                    text.push_str(trimmed);
                }
            }
        }
    }
    options.extend(current);
    options
}

/// The default a help text ends with, whitespace folded: `4096; solid: 1024`.
fn help_default(text: &str) -> Option<String> {
    let start = text.find("[default: ")? + "[default: ".len();
    let end = start + text[start..].find(']')?;
    Some(text[start..end].split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The CLI and the API take a conversion's options from one table (the engine's job model):
/// `lithos convert --help` and the OpenAPI schema of a task's `params` list the same options,
/// with the same defaults.
#[test]
fn convert_help_and_the_api_schema_list_the_same_options_with_the_same_defaults() {
    let output = lithos(&["convert", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let mut options = help_options(&help);
    // The CLI's own: where to read and write, how to run, what to print (and the backlit
    // preview and the thumbnail, files beside the output).
    for own in [
        "output",
        "mode",
        "format",
        "backend",
        "max_megapixels",
        "max_decode_mib",
        "json",
        "help",
        "preview",
        "thumbnail",
    ] {
        assert!(options.remove(own).is_some(), "--{own} is listed: {help}");
    }
    let document = serde_json::to_value(lithos_server::routes::openapi()).unwrap();
    let schema = &document["components"]["schemas"]["JobRequest"]["properties"];
    let properties = schema.as_object().expect("the params schema has properties");
    let cli: Vec<&String> = options.keys().collect();
    let api: std::collections::BTreeSet<&String> = properties.keys().collect();
    assert_eq!(cli, api.into_iter().collect::<Vec<_>>(), "the same options");
    for name in ["frame_thickness_mm", "iso", "crop", "raw_type", "max_grid"] {
        assert!(options.contains_key(name), "{name}: the volume and lithophane options too");
    }
    let mut compared = 0;
    for (name, text) in &options {
        let property = &properties[name];
        let cli_default = help_default(text);
        // The schema's default, in the help's words.
        let mut api_default = match &property["default"] {
            serde_json::Value::Null => property["x-default-note"].as_str().map(str::to_owned),
            serde_json::Value::Number(n) => Some(n.as_f64().unwrap().to_string()),
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        if let (Some(text), Some(by_mode)) =
            (&mut api_default, property["x-mode-defaults"].as_object())
        {
            let number = |v: &serde_json::Value| v.as_f64().unwrap().to_string();
            for (mode, value) in by_mode {
                let value = match value {
                    serde_json::Value::Number(_) => number(value),
                    serde_json::Value::Array(items) => {
                        items.iter().map(number).collect::<Vec<_>>().join(",")
                    }
                    other => other.to_string(),
                };
                text.push_str(&format!("; {mode}: {value}"));
            }
        }
        let api_default = api_default.as_deref().map(lithos_engine::job::cli::as_flags);
        assert_eq!(cli_default, api_default, "--{name}: {text}");
        compared += usize::from(cli_default.is_some());
    }
    assert!(compared >= 18, "only {compared} defaults compared");
    assert_eq!(help_default(&options["max_grid"]).unwrap(), "4096; solid: 1024");
}

/// The mean absolute difference between `preview`'s grey levels and the input's brightness,
/// each stretched to 0..1 (a backlit print cannot be black: its contrast is compared).
fn brightness_error(preview: &image::GrayImage, input: &image::GrayImage) -> f64 {
    let input = image::imageops::resize(
        input,
        preview.width(),
        preview.height(),
        image::imageops::FilterType::Triangle,
    );
    let stretch = |image: &image::GrayImage| {
        let (lo, hi) =
            image.pixels().fold((255u8, 0u8), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        let span = f64::from(hi - lo).max(1.0);
        image.pixels().map(move |p| f64::from(p[0] - lo) / span).collect::<Vec<f64>>()
    };
    let (a, b) = (stretch(preview), stretch(&input));
    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

/// `--preview` writes the lithophane lit from behind beside the mesh; by the transmittance
/// model it shows the photo's brightness, by the linear model it strays (mean error of the
/// stretched grey levels, the metric of `brightness_error`).
#[test]
fn the_backlit_preview_of_a_transmittance_lithophane_shows_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    let camera = image::open(data("camera.png")).unwrap().to_luma8();
    let mut errors = Vec::new();
    for model in ["linear", "transmittance"] {
        let out = dir.path().join(format!("{model}.stl"));
        let output = lithos(&[
            "convert",
            data("camera.png").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
            "--mode",
            "lithophane",
            "--thickness-model",
            model,
            "--preview",
            "--json",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let path = dir.path().join(format!("{model}.backlit.png"));
        assert_eq!(report["preview"], path.display().to_string());
        let preview = image::open(&path).unwrap().to_luma8();
        assert_eq!(
            [preview.width(), preview.height()],
            [
                report["grid"][0].as_u64().unwrap() as u32,
                report["grid"][1].as_u64().unwrap() as u32
            ]
        );
        errors.push(brightness_error(&preview, &camera));
    }
    let (linear, transmittance) = (errors[0], errors[1]);
    assert!(transmittance < 0.02, "transmittance: mean error {transmittance}");
    assert!(transmittance * 3.0 < linear, "linear {linear} vs transmittance {transmittance}");
    // A relief has no backlit view.
    let output = lithos(&[
        "convert",
        data("camera.png").to_str().unwrap(),
        "--preview",
        "-o",
        dir.path().join("r.stl").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--preview applies only to --mode lithophane"));
    assert!(!dir.path().join("r.stl").exists());
}
