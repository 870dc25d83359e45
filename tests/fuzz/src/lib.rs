//! What each fuzz target does with its bytes, shared by the libFuzzer targets
//! (`fuzz_targets/`) and the ordinary test that replays the seed corpora and every crash found
//! (`tests/engine/fuzz_corpora.rs`).
//!
//! A parser may refuse any input with its typed error, but never panic, never allocate past
//! its limits, and what it accepts must hold what it claims: an image its pixels, a volume its
//! voxels, a model only indices in range and finite corners.

use std::io::Write;

use lithos_engine::model::{ModelFormat, ModelLimits, RepairOptions, Units};
use lithos_engine::text::{Font, Layout, Plan, TextParams};
use lithos_engine::{DecodeLimits, RawType, VolumeSource, decode, volume};

/// What a target does with its bytes.
pub type Target = fn(&[u8]);

/// Every target, by name, as `benches/fuzz.sh` and the corpora's folders name them.
pub const ALL: &[(&str, Target)] = &[
    ("image", image),
    ("volume_tiff", volume_tiff),
    ("volume_zip", volume_zip),
    ("volume_nifti", volume_nifti),
    ("volume_raw", volume_raw),
    ("model_stl", model_stl),
    ("model_obj", model_obj),
    ("model_ply", model_ply),
    ("model_gltf", model_gltf),
    ("model_3mf", model_3mf),
    ("model_off", model_off),
    ("font", font),
    ("creem_webhook", creem_webhook),
];

/// Small enough that libFuzzer's 2 GiB is never reached: 4 megapixels, 256 MiB.
const DECODE: DecodeLimits = DecodeLimits { max_pixels: 4 << 20, max_alloc_bytes: 256 << 20 };
const MODEL: ModelLimits =
    ModelLimits { max_bytes: 4 << 20, max_triangles: 200_000, max_unzipped_bytes: 64 << 20 };

/// The image decoder under its limits: probing and decoding agree on the size.
pub fn image(data: &[u8]) {
    let probed = decode::probe_bytes(data, DECODE);
    if let Ok(image) = decode::decode_bytes(data, DECODE) {
        let (w, h) = (image.width(), image.height());
        assert!(u64::from(w) * u64::from(h) <= DECODE.max_pixels, "{w} x {h} past the limit");
        if let Ok((_, pw, ph)) = probed {
            assert_eq!((pw, ph), (w, h), "the header and the pixels disagree");
        }
    }
}

/// A volume read from a file named `name` (the readers take paths: DICOM series and ZIPs are
/// many files), with `source`: what it accepts has as many samples as its dims say.
fn volume_file(name: &str, data: &[u8], source: VolumeSource) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::File::create(&path).and_then(|mut f| f.write_all(data)).expect("written");
    if let Ok(volume) = volume::load(&path, source, DECODE) {
        let voxels: usize = volume.dims.iter().product();
        assert_eq!(volume.voxels.len(), voxels, "dims {:?}", volume.dims);
    }
}

pub fn volume_tiff(data: &[u8]) {
    volume_file("stack.tif", data, VolumeSource::Detect);
}

pub fn volume_zip(data: &[u8]) {
    volume_file("slices.zip", data, VolumeSource::Detect);
}

pub fn volume_nifti(data: &[u8]) {
    volume_file("scan.nii", data, VolumeSource::Detect);
}

/// Raw samples: the first four bytes choose the dims (1 to 16 each) and the sample type.
pub fn volume_raw(data: &[u8]) {
    let Some((head, samples)) = data.split_first_chunk::<4>() else { return };
    let dims = [0, 1, 2].map(|k| usize::from(head[k] % 16) + 1);
    let sample = RawType::ALL[usize::from(head[3]) % RawType::ALL.len()];
    volume_file("samples.raw", samples, VolumeSource::Raw { dims, sample });
}

/// A 3D file read as `format`, then analysed and repaired: every index in range, every corner
/// finite, and repair never panics on what the reader accepted.
fn model(format: ModelFormat, data: &[u8]) {
    let Ok(loaded) = lithos_engine::model::read_as(format, data, Units::Mm, MODEL) else { return };
    let mut model = loaded.model;
    let n = model.positions.len();
    assert!(!model.triangles.is_empty());
    assert!(model.triangles.iter().flatten().all(|&v| (v as usize) < n), "an index past {n}");
    assert!(model.positions.iter().flatten().all(|v| v.is_finite()), "a corner not finite");
    let analysis = lithos_engine::model::analyse(&model);
    assert_eq!(analysis.triangles, model.triangles.len());
    let options = RepairOptions { weld_mm: 0.001, min_shell_mm3: 0.0 };
    lithos_engine::model::repair(&mut model, options);
    let n = model.positions.len();
    assert!(model.triangles.iter().flatten().all(|&v| (v as usize) < n), "repair broke an index");
}

pub fn model_stl(data: &[u8]) {
    model(ModelFormat::Stl, data);
}

pub fn model_obj(data: &[u8]) {
    model(ModelFormat::Obj, data);
}

pub fn model_ply(data: &[u8]) {
    model(ModelFormat::Ply, data);
}

pub fn model_gltf(data: &[u8]) {
    model(ModelFormat::Gltf, data);
}

pub fn model_3mf(data: &[u8]) {
    model(ModelFormat::ThreeMf, data);
}

pub fn model_off(data: &[u8]) {
    model(ModelFormat::Off, data);
}

/// The font loader, and laying out text in what it accepts: a letter it lacks is an error,
/// anything drawn has a field of finite size.
pub fn font(data: &[u8]) {
    let Ok(font) = Font::parse(data) else { return };
    let mut params = TextParams {
        text: "Ag 08 Ω".parse().expect("valid text"),
        layout: Layout::Solid,
        letter_height_mm: 10.0,
        letter_spacing_mm: 0.0,
        line_spacing: 1.0,
        align: Default::default(),
        solid: Default::default(),
        plate_mm: 2.0,
        margin_mm: 2.0,
        hole_mm: 4.0,
        border_mm: 2.0,
        pitch_mm: Some(0.5),
    };
    params.solid.bevel_mm = 0.0;
    if let Ok(plan) = Plan::new(&font, &params) {
        assert!(plan.area_mm2().is_finite());
        assert!(plan.dims().iter().all(|&d| d > 0));
    }
}

/// The Creem webhook: the signature check, then the event and the fields Lithos reads of it.
pub fn creem_webhook(data: &[u8]) {
    use lithos_server::billing::inbox::{signature_of, verify};
    use lithos_server::billing::payload::{self, Event};
    const SECRET: &str = "whsec_fuzz";
    let signature = signature_of(SECRET, data);
    assert!(verify(SECRET, data, &signature), "its own signature");
    assert!(!verify("another secret", data, &signature), "another secret's");
    if let Some(text) = std::str::from_utf8(data).ok().filter(|t| t.len() <= 256) {
        // The body as a signature header: only the right one verifies.
        assert_eq!(verify(SECRET, data, text), text.trim() == signature);
    }
    let Ok(event) = serde_json::from_slice::<Event>(data) else { return };
    let _ = event.created_ms();
    let object = &event.object;
    for key in ["product", "customer", "subscription", "transaction", "order", "checkout"] {
        let _ = payload::id_of(&object[key]);
    }
    let _ = payload::metadata_user(object);
    for key in ["amount", "amount_paid", "refund_amount", "units"] {
        let _ = payload::integer(object, key);
    }
    for key in ["created_at", "current_period_end_date", "canceled_at"] {
        let _ = payload::millis(&object[key]);
    }
    let _ = payload::text(object, "status");
}
