//! Huge PNGs, TIFFs (in strips, or tiles as tifffile writes them) and sequential JPEGs read a
//! row at a time onto the grid, from a file or from memory: the same mesh as decoding them
//! whole (to float rounding; to the two JPEG decoders' rounding), alpha masks and float height
//! maps included, and a truncated file refused with nothing written.

use std::path::Path;

use image::{DynamicImage, ImageBuffer, Rgba};
use lithos_engine::{DecodeLimits, Input, Job, JobMode, JobRequest, MeshFormat, Silent};
use serde_json::{Value, json};

use crate::helpers::{cpu, data, output_dir, run_writers};
use crate::parity::{TOLERANCE, records};

fn job(mode: JobMode, request: Value) -> Job {
    serde_json::from_value::<JobRequest>(request)
        .unwrap()
        .build(mode, Some(MeshFormat::Stl))
        .unwrap()
}

/// The STL of `job` on the file at `path`, read a row at a time (the file's grid is smaller
/// than the image), and on the same file decoded whole.
fn both_ways(job: &Job, path: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut banded = Vec::new();
    let limits = DecodeLimits::default();
    let report = cpu().run(job, Input::File { path, limits }, &mut banded, &Silent).unwrap();
    assert!(
        report.stages.iter().all(|s| s.stage.name() != "luminance"),
        "{}: read a row at a time, with no full-size luminance stage",
        path.display()
    );
    let mut names: Vec<&str> = report.stages.iter().map(|s| s.stage.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), report.stages.len(), "each stage reported once: {:?}", report.stages);
    // The same file in memory, as a worker passes an upload: read a row at a time too.
    let bytes = std::fs::read(path).unwrap();
    let encoded = Input::Encoded { bytes: &bytes, limits };
    assert!(job.reads_rows(encoded), "{}: read a row at a time from memory", path.display());
    let mut in_memory = Vec::new();
    cpu().run(job, encoded, &mut in_memory, &Silent).unwrap();
    assert!(in_memory == banded, "{}: the same mesh from memory as from the file", path.display());
    let image = lithos_engine::decode::decode_file(path, limits).unwrap();
    let mut whole = Vec::new();
    cpu().run(job, Input::Image(&image), &mut whole, &Silent).unwrap();
    (banded, whole)
}

fn assert_same_mesh(label: &str, banded: &[u8], whole: &[u8]) {
    assert_near_mesh(label, banded, whole, TOLERANCE);
}

fn assert_near_mesh(label: &str, banded: &[u8], whole: &[u8], tolerance: f32) {
    let (a, b) = (records(banded), records(whole));
    assert_eq!(a.len(), b.len(), "{label}: triangle counts");
    let worst = a
        .iter()
        .zip(&b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0f32, f32::max);
    assert!(worst <= tolerance, "{label}: differs by {worst} mm");
}

#[test]
fn a_png_read_a_row_at_a_time_makes_the_mesh_decoding_it_whole_makes() {
    for (name, mode, request) in [
        ("camera.png", JobMode::Relief, json!({ "max_grid": 97, "width_mm": 40 })),
        ("coins.png", JobMode::Lithophane, json!({ "max_grid": 150, "blur_px": 1.0 })),
        // Alpha masks come through the banded path too.
        ("horse.png", JobMode::Relief, json!({ "max_grid": 120, "mask": "alpha" })),
    ] {
        let (banded, whole) = both_ways(&job(mode, request), &data(name));
        assert_same_mesh(name, &banded, &whole);
    }
    // 16-bit RGBA, written by the png crate through image.
    let image = ImageBuffer::from_fn(301, 203, |x, y| {
        let v = |k: u32| ((x * 211 + y * 97 * k + x * y * 13) % 65536) as u16;
        Rgba([v(1), v(2), v(3), if (x / 40 + y / 40) % 3 == 0 { 0 } else { 65535 }])
    });
    let path = output_dir("banded").join("rgba16.png");
    DynamicImage::ImageRgba16(image).save(&path).unwrap();
    let request = json!({ "max_grid": 64, "mask": "alpha", "threshold": 0.5 });
    let (banded, whole) = both_ways(&job(JobMode::Relief, request), &path);
    assert_same_mesh("rgba16.png", &banded, &whole);
}

/// A TIFF of `data` in strips of 7 rows, written by the `tiff` crate.
fn striped<C: tiff::encoder::colortype::ColorType>(
    name: &str,
    w: u32,
    h: u32,
    data: &[C::Inner],
) -> std::path::PathBuf
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let path = output_dir("banded").join(name);
    let mut encoder =
        tiff::encoder::TiffEncoder::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut image = encoder.new_image::<C>(w, h).unwrap();
    image.rows_per_strip(7).unwrap();
    image.write_data(data).unwrap();
    path
}

#[test]
fn a_striped_tiff_read_a_row_at_a_time_makes_the_mesh_decoding_it_whole_makes() {
    use tiff::encoder::colortype::{Gray16, Gray32Float, RGB8};
    let (w, h) = (257u32, 190u32);
    let gray16: Vec<u16> = (0..w * h).map(|i| ((i % w) * 250 + (i / w) * 37) as u16).collect();
    let rgb8: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7 + i / 771) % 256) as u8).collect();
    // Elevations in metres with a NaN hole, as GIS tools write them: levels stretch them.
    let mut metres: Vec<f32> = (0..w * h).map(|i| 100.0 + ((i % w) as f32).sin() * 50.0).collect();
    metres[300] = f32::NAN;
    for (path, mode) in [
        (striped::<Gray16>("gray16.tif", w, h, &gray16), JobMode::Relief),
        (striped::<RGB8>("rgb8.tif", w, h, &rgb8), JobMode::Lithophane),
        (striped::<Gray32Float>("metres.tif", w, h, &metres), JobMode::Relief),
    ] {
        let (banded, whole) = both_ways(&job(mode, json!({ "max_grid": 100 })), &path);
        assert_same_mesh(&path.display().to_string(), &banded, &whole);
    }
}

#[test]
fn a_tiled_tiff_read_a_row_of_tiles_at_a_time_makes_the_mesh_decoding_it_whole_makes() {
    let dir = output_dir("banded").join("tiled");
    std::fs::create_dir_all(&dir).unwrap();
    run_writers("tiled_tiffs.py", &[&dir], "tifffile");
    for (name, mode) in [
        ("rgb8_tiled.tif", JobMode::Lithophane),
        ("gray16_tiled.tif", JobMode::Relief),
        ("metres_tiled.tif", JobMode::Relief),
    ] {
        let (banded, whole) = both_ways(&job(mode, json!({ "max_grid": 100 })), &dir.join(name));
        assert_same_mesh(name, &banded, &whole);
    }
}

/// JPEGs written by libjpeg-turbo (through imagecodecs) and Pillow from the shipped photos,
/// into a fresh directory.
fn jpegs() -> std::path::PathBuf {
    let dir = output_dir("banded").join("jpegs");
    std::fs::create_dir_all(&dir).unwrap();
    run_writers(
        "jpegs.py",
        &[&dir, &data("camera.png"), &data("astronaut.png")],
        "imagecodecs pillow",
    );
    dir
}

/// How far two JPEG decoders' meshes may part, in millimetres: libjpeg-turbo and the whole-image
/// decoder (zune-jpeg) round the inverse DCT and upsample chroma differently, by a level or
/// two of 255 at a pixel, less once area-averaged onto the grid (measured: at most 0.0035 mm;
/// one level of 255 is 0.02 mm on a 5 mm relief).
const JPEG_TOLERANCE: f32 = 0.01;

#[test]
fn a_sequential_jpeg_read_a_scanline_at_a_time_makes_the_mesh_decoding_it_whole_makes() {
    let dir = jpegs();
    for (name, mode) in [
        ("grey.jpg", JobMode::Relief),
        ("colour420.jpg", JobMode::Lithophane),
        ("colour444.jpg", JobMode::Relief),
    ] {
        let (banded, whole) = both_ways(&job(mode, json!({ "max_grid": 100 })), &dir.join(name));
        assert_near_mesh(name, &banded, &whole, JPEG_TOLERANCE);
    }
    // Progressive and CMYK JPEGs keep whole-image buffers in any decoder: decoded whole.
    let limits = DecodeLimits::default();
    for name in ["progressive.jpg", "cmyk.jpg"] {
        let path = dir.join(name);
        let job = job(JobMode::Relief, json!({ "max_grid": 100 }));
        assert!(!job.reads_rows(Input::File { path: &path, limits }), "{name}: decoded whole");
    }
}

#[test]
fn a_truncated_jpeg_is_refused_with_nothing_written() {
    let dir = jpegs();
    let bytes = std::fs::read(dir.join("colour420.jpg")).unwrap();
    let path = dir.join("truncated.jpg");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = dir.join("truncated.stl");
    let _ = std::fs::remove_file(&out);
    let job = job(JobMode::Relief, json!({ "max_grid": 97 }));
    let limits = DecodeLimits::default();
    assert!(job.reads_rows(Input::File { path: &path, limits }), "its header reads well");
    let error = cpu().run_to_file(&job, Input::File { path: &path, limits }, &out, &Silent);
    let error = error.unwrap_err();
    assert!(
        matches!(&error, lithos_engine::EngineError::CorruptImage(why) if why.contains("ends")),
        "a typed error that says the file ends early: {error}"
    );
    assert!(!out.exists(), "no output, not even a partial one");
    let from_memory = Input::Encoded { bytes: &bytes[..bytes.len() * 2 / 3], limits };
    let error = cpu().run(&job, from_memory, Vec::new(), &Silent).unwrap_err();
    assert!(matches!(error, lithos_engine::EngineError::CorruptImage(_)), "a typed error: {error}");
    // A header that breaks partway is refused too, by libjpeg's own checks.
    let mut broken = bytes.clone();
    broken.truncate(300);
    let error = cpu().run(&job, Input::Encoded { bytes: &broken, limits }, Vec::new(), &Silent);
    assert!(matches!(error, Err(lithos_engine::EngineError::CorruptImage(_))), "{error:?}");
}

#[test]
fn a_truncated_png_is_refused_with_nothing_written() {
    let bytes = std::fs::read(data("camera.png")).unwrap();
    let path = output_dir("banded").join("truncated.png");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = output_dir("banded").join("truncated.stl");
    let _ = std::fs::remove_file(&out);
    let job = job(JobMode::Relief, json!({ "max_grid": 97 }));
    let input = Input::File { path: &path, limits: DecodeLimits::default() };
    let error = cpu().run_to_file(&job, input, &out, &Silent).unwrap_err();
    assert!(matches!(error, lithos_engine::EngineError::CorruptImage(_)), "a typed error: {error}");
    assert!(!out.exists(), "no output, not even a partial one");
}

/// What is not read a row at a time is decoded whole, from memory as from a file: an image no
/// larger than its grid, a solid; a truncated upload is refused. A baseline JPEG (as the image
/// crate writes it) larger than its grid is read a scanline at a time.
#[test]
fn only_images_larger_than_their_grid_are_read_a_row_at_a_time() {
    let limits = DecodeLimits::default();
    let camera = std::fs::read(data("camera.png")).unwrap();
    let encoded = Input::Encoded { bytes: &camera, limits };
    let relief = |grid: u32| job(JobMode::Relief, json!({ "max_grid": grid }));
    assert!(relief(97).reads_rows(encoded));
    // camera.png is 512 x 512: a grid as large takes it whole.
    let whole = relief(512);
    assert!(!whole.reads_rows(encoded));
    let solid = job(JobMode::Solid, json!({ "max_grid": 97, "mask": "threshold" }));
    assert!(!solid.reads_rows(encoded), "solids mask the image at full size");
    let mut jpeg = Vec::new();
    image::open(data("camera.png"))
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    assert!(relief(97).reads_rows(Input::Encoded { bytes: &jpeg, limits }));
    assert!(!relief(512).reads_rows(Input::Encoded { bytes: &jpeg, limits }));
    // Decoded whole from memory, the same mesh as from the decoded image.
    for (job, bytes) in [(&whole, &camera), (&relief(512), &jpeg)] {
        let mut from_memory = Vec::new();
        cpu().run(job, Input::Encoded { bytes, limits }, &mut from_memory, &Silent).unwrap();
        let image = lithos_engine::decode::decode_bytes(bytes, limits).unwrap();
        let mut decoded = Vec::new();
        cpu().run(job, Input::Image(&image), &mut decoded, &Silent).unwrap();
        assert!(from_memory == decoded, "decoded whole from memory");
    }
    let truncated = Input::Encoded { bytes: &camera[..camera.len() / 2], limits };
    let error = cpu().run(&relief(97), truncated, Vec::new(), &Silent).unwrap_err();
    assert!(matches!(error, lithos_engine::EngineError::CorruptImage(_)), "a typed error: {error}");
}
