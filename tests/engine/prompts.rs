//! `lithos convert --mode prompt`: the AI generation provider the environment names, here
//! the stand-in speaking Tripo's documented API (`tests/generation/standin.py`).

use std::process::Command;

use crate::cli::stderr;

/// It asks the provider the environment names (here the stand-in
/// speaking Tripo's API, `tests/generation/standin.py`) and repairs its broken model into a
/// closed solid; without a provider it says what to set.
#[test]
fn a_prompt_goes_to_the_provider_the_environment_names_and_comes_back_closed() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/generation/standin.py");
    let mut standin = Command::new("python3")
        .args([script, "--api-key", "tripo-cli-key"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the stand-in");
    let mut line = String::new();
    std::io::BufReader::new(standin.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = format!("http://127.0.0.1:{}", line.trim().trim_start_matches("listening on "));
    let out = dir.path().join("box.stl");
    let convert = |with_provider: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lithos"));
        command.args(["convert", "--mode", "prompt", "--prompt", "a broken box", "--json"]);
        command.args(["-o", out.to_str().unwrap(), "--backend", "cpu"]);
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("LITHOS_GENERATION_")) {
            command.env_remove(key);
        }
        if with_provider {
            command.env("LITHOS_GENERATION_PROVIDER", "tripo");
            command.env("LITHOS_GENERATION_API_BASE", &base);
            command.env("LITHOS_GENERATION_API_KEY", "tripo-cli-key");
            command.env("LITHOS_GENERATION_POLL_SECONDS", "0.05");
        }
        command.output().unwrap()
    };
    let refused = convert(false);
    let refused_wrote = out.exists();
    let made = convert(true);
    let _ = standin.kill();
    let _ = standin.wait();
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("set LITHOS_GENERATION_PROVIDER"), "{}", stderr(&refused));
    assert!(!refused_wrote);
    assert!(made.status.success(), "{}", stderr(&made));
    let report: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(report["check"]["shells"], 1, "{report}");
    let stl = std::fs::read(&out).unwrap();
    let mesh = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(&stl[..])).unwrap();
    assert!(mesh.is_closed_manifold(), "{mesh:?}");
    // The 40 x 30 x 20 cm box, fitted into the 6 cm cube: 60 x 45 x 30 mm, on the bed.
    let expected = 60.0 * 45.0 * 30.0;
    assert!((mesh.volume / expected - 1.0).abs() < 1e-4, "{} against {expected}", mesh.volume);
    let size = report["size_mm"].as_array().unwrap();
    let mut size: Vec<f64> = size.iter().map(|v| v.as_f64().unwrap()).collect();
    size.sort_by(f64::total_cmp);
    assert!(size.iter().zip([30.0, 45.0, 60.0]).all(|(a, b)| (a - b).abs() < 1e-3), "{size:?}");
}
