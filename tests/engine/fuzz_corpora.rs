//! The fuzz targets' seed corpora and every crash the fuzzer found, replayed as ordinary tests
//! through the same functions the targets run (`tests/fuzz/src/lib.rs`): CI does not fuzz, but
//! nothing the fuzzer once broke may break again.

use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
mod targets;

#[test]
fn every_seed_and_every_crash_found_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut replayed = 0;
    for (name, target) in targets::ALL {
        let mut seeds = 0;
        for folder in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| target(&bytes));
                assert!(outcome.is_ok(), "{name} panicked on {}", path.display());
                seeds += usize::from(folder == "corpus");
                replayed += 1;
            }
        }
        assert!(seeds >= 2, "{name} has {seeds} seeds in tests/fuzz/corpus/{name}");
    }
    assert!(replayed >= 2 * targets::ALL.len());
}

/// The seeds are what their folders say: each target's own reader accepts every one of its
/// seeds, so the fuzzer starts from inputs that reach deep into the parser.
#[test]
fn every_seed_is_read_by_its_own_reader() {
    use lithos_engine::model::{ModelFormat, ModelLimits, Units};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    let read = |target: &str| -> Vec<(String, Vec<u8>)> {
        std::fs::read_dir(root.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    };
    for (target, format) in [
        ("model_stl", ModelFormat::Stl),
        ("model_obj", ModelFormat::Obj),
        ("model_ply", ModelFormat::Ply),
        ("model_gltf", ModelFormat::Gltf),
        ("model_3mf", ModelFormat::ThreeMf),
        ("model_off", ModelFormat::Off),
    ] {
        for (path, bytes) in read(target) {
            let read =
                lithos_engine::model::read_as(format, &bytes, Units::Mm, ModelLimits::default());
            assert!(read.is_ok(), "{path}: {:?}", read.err());
        }
    }
    for (path, bytes) in read("image") {
        let decoded = lithos_engine::decode::decode_bytes(&bytes, Default::default());
        assert!(decoded.is_ok(), "{path}: {:?}", decoded.err());
    }
    for (target, extension) in
        [("volume_tiff", "tif"), ("volume_zip", "zip"), ("volume_nifti", "nii")]
    {
        for (path, bytes) in read(target) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(format!("seed.{extension}"));
            std::fs::write(&file, &bytes).unwrap();
            let source = lithos_engine::VolumeSource::Detect;
            let volume = lithos_engine::volume::load(&file, source, Default::default());
            assert!(volume.is_ok(), "{path}: {:?}", volume.err());
        }
    }
    for (path, bytes) in read("font") {
        assert!(lithos_engine::text::Font::parse(&bytes).is_ok(), "{path}");
    }
    for (path, bytes) in read("creem_webhook") {
        let event = serde_json::from_slice::<lithos_server::billing::payload::Event>(&bytes);
        assert!(event.is_ok(), "{path}: {:?}", event.err());
    }
}
