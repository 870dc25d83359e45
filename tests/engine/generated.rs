//! `lithos convert --mode prompt` and `--mode sculpt`: the AI generation provider the
//! environment names, here the stand-in speaking Tripo's and Meshy's documented APIs
//! (`tests/generation/standin.py`), whose broken model comes back a closed solid.

use std::path::Path;
use std::process::{Child, Command, Output};

use crate::cli::stderr;

/// The stand-in, started; its base URL.
fn standin(key: &str) -> (Child, String) {
    use std::io::BufRead;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/generation/standin.py");
    let mut standin = Command::new("python3")
        .args([script, "--api-key", key])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the stand-in");
    let mut line = String::new();
    std::io::BufReader::new(standin.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = format!("http://127.0.0.1:{}", line.trim().trim_start_matches("listening on "));
    (standin, base)
}

/// What the stand-in was asked to make (`GET /control/tasks`), over a plain HTTP/1.0 request.
fn control_tasks(base: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.write_all(b"GET /control/tasks HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

/// `lithos convert ARGS -o OUT --json`, with the provider `(kind, base, key)` in the
/// environment, or none.
fn convert(args: &[&str], out: &Path, provider: Option<(&str, &str, &str)>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lithos"));
    command.arg("convert").args(args);
    command.args(["--json", "-o", out.to_str().unwrap(), "--backend", "cpu"]);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("LITHOS_GENERATION_")) {
        command.env_remove(key);
    }
    if let Some((kind, base, key)) = provider {
        command.env("LITHOS_GENERATION_PROVIDER", kind);
        command.env("LITHOS_GENERATION_API_BASE", base);
        command.env("LITHOS_GENERATION_API_KEY", key);
        command.env("LITHOS_GENERATION_POLL_SECONDS", "0.05");
    }
    command.output().unwrap()
}

/// The stand-in's broken 40 x 30 x 20 cm box, repaired and fitted into the 6 cm cube: closed,
/// 60 x 45 x 30 mm, at exactly its volume.
fn assert_the_box_came_back_closed(made: &Output, out: &Path) {
    assert!(made.status.success(), "{}", stderr(made));
    let report: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(report["check"]["shells"], 1, "{report}");
    let stl = std::fs::read(out).unwrap();
    let mesh = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(&stl[..])).unwrap();
    assert!(mesh.is_closed_manifold(), "{mesh:?}");
    let expected = 60.0 * 45.0 * 30.0;
    assert!((mesh.volume / expected - 1.0).abs() < 1e-4, "{} against {expected}", mesh.volume);
    let size = report["size_mm"].as_array().unwrap();
    let mut size: Vec<f64> = size.iter().map(|v| v.as_f64().unwrap()).collect();
    size.sort_by(f64::total_cmp);
    assert!(size.iter().zip([30.0, 45.0, 60.0]).all(|(a, b)| (a - b).abs() < 1e-3), "{size:?}");
}

/// A prompt goes to the provider the environment names (Tripo's API here); without one the
/// CLI says what to set and writes nothing.
#[test]
fn a_prompt_goes_to_the_provider_the_environment_names_and_comes_back_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut standin, base) = standin("tripo-cli-key");
    let out = dir.path().join("box.stl");
    let args = ["--mode", "prompt", "--prompt", "a broken box"];
    let refused = convert(&args, &out, None);
    let refused_wrote = out.exists();
    let made = convert(&args, &out, Some(("tripo", &base, "tripo-cli-key")));
    let _ = standin.kill();
    let _ = standin.wait();
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("set LITHOS_GENERATION_PROVIDER"), "{}", stderr(&refused));
    assert!(!refused_wrote);
    assert_the_box_came_back_closed(&made, &out);
}

/// A photo goes to Meshy's image-to-3D; a file that is not an image is refused before
/// anything reaches the provider.
#[test]
fn a_photo_goes_to_the_provider_s_image_to_3d_and_comes_back_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut standin, base) = standin("meshy-cli-key");
    let out = dir.path().join("sculpt.stl");
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/astronaut.png");
    let provider = Some(("meshy", base.as_str(), "meshy-cli-key"));
    let made = convert(&["--mode", "sculpt", photo], &out, provider);
    let not_an_image = dir.path().join("notes.png");
    std::fs::write(&not_an_image, "not a picture").unwrap();
    let refused_out = dir.path().join("refused.stl");
    let args = ["--mode", "sculpt", not_an_image.to_str().unwrap()];
    let refused = convert(&args, &refused_out, provider);
    let tasks = control_tasks(&base);
    let _ = standin.kill();
    let _ = standin.wait();
    assert_the_box_came_back_closed(&made, &out);
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!((&tasks[0]["api"], &tasks[0]["kind"]), (&"meshy".into(), &"image".into()));
    assert_eq!(tasks[0]["image"]["width"], 512, "{tasks}");
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("the photo cannot be read"), "{}", stderr(&refused));
    assert!(!refused_out.exists());
}
