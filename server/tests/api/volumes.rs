//! Volumes through the API, on SQLite and PostgreSQL alike: a CT series as a PACS sends it (a
//! ZIP of DICOM slices written by pydicom), NIfTI (nibabel), a TIFF stack, a ZIP of PNG slices
//! and raw samples upload with their geometry and values, and mesh closed at the preset's
//! isovalue, priced by the voxel rule. Every broken volume is a 4xx that stores nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use lithos_engine::inspect::inspect_stl;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};
use crate::object_storage::{curl, headers_of, on_s3, s3};

/// Runs one of the engine tests' case writers (pydicom's or nibabel's) into `dir`.
pub(crate) fn write_cases(script: &str, dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/engine/scripts").join(script);
    let run = Command::new("python3").arg(&script).arg(dir).output().expect("python3 runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

fn dicom_cases() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_cases("dicom_cases.py", dir.path());
    dir
}

/// A ZIP of the files in `dir`.
fn zip_dir(dir: &Path) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn upload_raw(
    app: &TestApp,
    client: &Client,
    bytes: Vec<u8>,
    dims: &str,
    sample: &str,
) -> Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("scan.raw");
    let form = reqwest::multipart::Form::new()
        .text("raw_dims", dims.to_owned())
        .text("raw_type", sample.to_owned())
        .part("file", part);
    client.post(app.url("/uploads")).multipart(form).send().await.unwrap()
}

async fn created(response: Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn output(
    app: &TestApp,
    client: &Client,
    task: &Value,
) -> lithos_engine::inspect::MeshReport {
    let id = task["id"].as_str().unwrap();
    let stl = client.get(app.url(&format!("/tasks/{id}/output"))).send().await.unwrap();
    assert_eq!(stl.status(), StatusCode::OK);
    let stl = stl.bytes().await.unwrap();
    inspect_stl(std::io::Cursor::new(&stl[..])).unwrap()
}

#[tokio::test]
async fn a_ct_series_in_a_zip_uploads_described_and_meshes_its_bone_at_the_voxel_price() {
    let cases = dicom_cases();
    let app = TestApp::spawn().await;
    let client = app.user("ct@example.com").await;
    let zip = std::fs::read(cases.path().join("phantom.zip")).unwrap();
    let upload = created(app.upload(&client, "phantom.zip", zip).await).await;
    assert_eq!(upload["content_type"], "application/zip");
    let volume = &upload["volume"];
    assert_eq!(volume["dims"], json!([64, 56, 30]));
    assert_eq!(volume["spacing_mm"], json!([0.5, 0.5, 1.25]));
    assert_eq!(volume["value_range"], json!([-1000.0, 560.0]), "Hounsfield units");
    assert_eq!(volume["sample"], "i16");
    assert_eq!(volume["hounsfield"], true);
    let histogram: Vec<u64> = serde_json::from_value(volume["histogram"].clone()).unwrap();
    assert_eq!(histogram.len(), 128);
    assert_eq!(histogram.iter().sum::<u64>(), 64 * 56 * 30, "every voxel counted once");
    assert_eq!(volume["series"][0]["slices"], 30);
    assert_eq!(volume["series"][0]["modality"], "CT");
    let id = upload["id"].as_str().unwrap();

    // Another user's volume is not there at all.
    let other = app.user("other@example.com").await;
    let response = other.get(app.url(&format!("/uploads/{id}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Priced by the voxel rule: 1 credit per started 16 M voxels.
    let body = json!({ "upload_id": id, "mode": "volume", "params": { "iso": "bone" } });
    let quote: Value = client.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    assert_eq!(quote["cost"], 1, "{quote}");
    let done = app.run_ok(&client, &body).await;
    assert_eq!(done["cost"], 1);
    assert_eq!(done["result"]["iso"], 300.0);
    assert_eq!(done["result"]["voxels"], json!([64, 56, 30]));
    let mesh = output(&app, &client, &done).await;
    assert!(mesh.is_closed_manifold(), "{mesh:?}");
    let cylinder = std::f64::consts::PI * 6.0 * 6.0 * 30.0 * 1.25;
    assert!((mesh.volume / cylinder - 1.0).abs() < 0.02, "{} mm³, {cylinder:.0}", mesh.volume);
    let credits = app.credits(&client).await;
    assert_eq!(credits["balance"], 20 - 1, "exactly the cost");

    // Modes and uploads must match, and the options must fit the upload.
    let wrong = [
        (json!({ "upload_id": id, "mode": "relief" }), "mode"),
        (json!({ "upload_id": id, "mode": "volume", "params": { "frame": 1 } }), "frame"),
        (json!({ "upload_id": id, "mode": "volume", "params": { "series": "1.2.3" } }), "series"),
        (
            json!({ "upload_id": id, "mode": "volume", "params": { "crop": [0, 0, 0, 65, 10, 10] } }),
            "crop",
        ),
        (
            json!({ "upload_id": id, "mode": "volume", "params": { "raw_dims": [1, 2, 3], "raw_type": "u8" } }),
            "raw_dims",
        ),
    ];
    let image = app.upload_ok(&client, "flat.png", png(16)).await;
    let image_as_volume = json!({ "upload_id": image, "mode": "volume" });
    for (body, field) in wrong.iter().chain([&(image_as_volume, "mode")]) {
        let response = app.submit(&client, body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], *field, "{error}");
    }
    assert_eq!(app.credits(&client).await["balance"], 19, "nothing reserved");
}

#[tokio::test]
async fn nifti_tiff_stacks_png_zips_raw_and_multi_series_zips_upload_and_mesh() {
    let cases = dicom_cases();
    let app = TestApp::spawn().await;
    let client = app.user("volumes@example.com").await;

    // NIfTI as nibabel writes a CT: int16, rescaled by its header.
    let nifti_dir = tempfile::tempdir().unwrap();
    write_cases("nifti_cases.py", nifti_dir.path());
    let nifti = std::fs::read(nifti_dir.path().join("phantom.nii")).unwrap();
    let upload = created(app.upload(&client, "phantom.nii", nifti).await).await;
    assert_eq!(upload["volume"]["dims"], json!([96, 96, 40]));
    assert_eq!(upload["volume"]["spacing_mm"], json!([0.5, 0.5, 1.0]));
    assert_eq!(upload["volume"]["hounsfield"], true, "air at -1000 and signed samples");
    assert_eq!(upload["volume"]["series"], json!([]));

    // A ball in a TIFF stack and in a ZIP of PNG slices, and as raw u16 samples.
    let (nx, ny, nz) = (24u32, 20u32, 16u32);
    let inside = |x: u32, y: u32, z: u32| {
        let d = |v: u32, n: u32| f64::from(v) - f64::from(n - 1) / 2.0;
        (d(x, nx).powi(2) + d(y, ny).powi(2) + d(z, nz).powi(2)).sqrt() < 6.0
    };
    let plane = |z: u32| -> Vec<u8> {
        (0..ny)
            .flat_map(|y| (0..nx).map(move |x| (x, y)))
            .map(|(x, y)| if inside(x, y, z) { 200 } else { 10 })
            .collect()
    };
    let mut tiff = std::io::Cursor::new(Vec::new());
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut tiff).unwrap();
    for z in 0..nz {
        encoder.write_image::<tiff::encoder::colortype::Gray8>(nx, ny, &plane(z)).unwrap();
    }
    let upload = created(app.upload(&client, "ball.tif", tiff.into_inner()).await).await;
    assert_eq!(upload["volume"]["dims"], json!([nx, ny, nz]));
    assert_eq!(upload["volume"]["value_range"], json!([10.0, 200.0]));
    let tiff_id = upload["id"].as_str().unwrap().to_owned();

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for z in (0..nz).rev() {
        let image = image::GrayImage::from_raw(nx, ny, plane(z)).unwrap();
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        zip.start_file(format!("slices/s{z}.png"), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes.get_ref()).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    let upload = created(app.upload(&client, "ball.zip", zip).await).await;
    assert_eq!(upload["volume"]["dims"], json!([nx, ny, nz]));

    let raw: Vec<u8> =
        (0..nz).flat_map(plane).flat_map(|v| (u16::from(v) * 100).to_le_bytes()).collect();
    let upload =
        created(upload_raw(&app, &client, raw, &format!("{nx},{ny},{nz}"), "u16").await).await;
    assert_eq!(upload["volume"]["raw"], json!({ "dims": [nx, ny, nz], "sample": "u16" }));
    assert_eq!(upload["volume"]["value_range"], json!([1000.0, 20000.0]));
    let raw_id = upload["id"].as_str().unwrap().to_owned();

    // The same ball from the stack and from raw (its shape taken from the upload).
    let mut volumes = Vec::new();
    for (id, iso) in [(&tiff_id, 105.0), (&raw_id, 10500.0)] {
        let body = json!({ "upload_id": id, "mode": "volume", "params": { "iso": iso } });
        let done = app.run_ok(&client, &body).await;
        let mesh = output(&app, &client, &done).await;
        assert!(mesh.is_closed_manifold(), "{mesh:?}");
        volumes.push(mesh.volume);
    }
    assert!((volumes[0] - volumes[1]).abs() < 1e-6, "{volumes:?}");
    let task: Value = client.get(app.url("/tasks?limit=1")).fetch_json().await;
    assert_eq!(task["tasks"][0]["params"]["raw_dims"], json!([nx, ny, nz]), "kept with the task");

    // Two series: the largest is described, and `series` meshes the other.
    let zip = std::fs::read(cases.path().join("two-series.zip")).unwrap();
    let upload = created(app.upload(&client, "study.zip", zip).await).await;
    let phantom = std::fs::read_to_string(cases.path().join("phantom-series-uid.txt")).unwrap();
    let scout = std::fs::read_to_string(cases.path().join("scout-series-uid.txt")).unwrap();
    assert_eq!(upload["volume"]["series"].as_array().unwrap().len(), 2);
    assert_eq!(upload["volume"]["series_uid"], phantom.as_str());
    assert_eq!(upload["volume"]["dims"], json!([64, 56, 30]));
    let body = json!({
        "upload_id": upload["id"], "mode": "volume", "params": { "series": scout, "iso": 0 }
    });
    let quote: Value = client.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    assert_eq!(quote["grid"], json!([24, 24]), "the scout's own size");
    let done = app.run_ok(&client, &body).await;
    assert_eq!(done["result"]["voxels"], json!([24, 24, 3]));
}

#[tokio::test]
async fn broken_volumes_and_zip_bombs_get_a_4xx_and_store_nothing() {
    let cases = dicom_cases();
    let dir = cases.path();
    let app = TestApp::spawn().await;
    let client = app.user("broken@example.com").await;
    let nifti_dir = tempfile::tempdir().unwrap();
    write_cases("nifti_cases.py", nifti_dir.path());
    let mut nifti = std::fs::read(nifti_dir.path().join("phantom.nii")).unwrap();
    nifti.truncate(nifti.len() / 2);

    // A ZIP bomb: one 64 MiB entry of zeros, copied raw under 80 names: 5 GiB declared, 5 MB
    // sent.
    let mut bomb = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    bomb.start_file("slice0.dcm", options).unwrap();
    bomb.write_all(&vec![0u8; 64 << 20]).unwrap();
    let mut bomb = zip::ZipArchive::new(bomb.finish().unwrap()).unwrap();
    let mut copies = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..80 {
        let entry = bomb.by_index_raw(0).unwrap();
        copies.raw_copy_file_rename(entry, format!("slice{i}.dcm")).unwrap();
    }
    let bomb = copies.finish().unwrap().into_inner();
    assert!(bomb.len() < 20 << 20, "{} bytes", bomb.len());

    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "uneven.zip",
            zip_dir(&dir.join("uneven")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unevenly spaced",
        ),
        (
            "mismatch.zip",
            zip_dir(&dir.join("mismatch")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "same size",
        ),
        (
            "notdicom.zip",
            zip_dir(&dir.join("notdicom")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a DICOM file",
        ),
        (
            "jpegls.dcm",
            std::fs::read(dir.join("MR_small_jpeg_ls_lossless.dcm")).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "JPEG-LS",
        ),
        (
            "rgb.dcm",
            std::fs::read(dir.join("SC_rgb_rle.dcm")).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "colour",
        ),
        ("cut.nii", nifti, StatusCode::UNPROCESSABLE_ENTITY, "ends before its samples"),
        ("bomb.zip", bomb, StatusCode::UNPROCESSABLE_ENTITY, "expands to"),
    ];
    for (name, bytes, status, says) in cases {
        let response = app.upload(&client, name, bytes).await;
        assert_eq!(response.status(), status, "{name}");
        let error: Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
        assert!(!message.contains("/tmp"), "{name}: no server path in {message}");
    }
    // Raw samples of the wrong size, or half a shape.
    let response = upload_raw(&app, &client, vec![0; 100], "4,4,4", "u16").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = upload_raw(&app, &client, vec![0; 100], "4,4", "u16").await;
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["field"], "raw_dims");

    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM uploads").fetch_one(&db.pool).await.unwrap();
    assert_eq!(stored, 0, "no upload recorded");
    let files = crate::helpers::files_under(app.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("uploads"))
        .count();
    assert_eq!(files, 0, "no upload stored");
}

/// A CT series too large to send through the server goes straight to the bucket; `complete`
/// reads it whole, describes it as `POST /uploads` does, and a broken one is deleted.
#[tokio::test]
async fn a_ct_series_uploaded_directly_is_described_at_complete_and_a_broken_one_deleted() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(on_s3(&endpoint, &bucket)).await;
    let user = app.user("direct-ct@example.org").await;
    let cases = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/engine/scripts/dicom_cases.py");
    let run = Command::new("python3").arg(script).arg(cases.path()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let send = |bytes: Vec<u8>| {
        let body = json!({ "filename": "ct.zip", "bytes": bytes.len(), "content_type": "application/zip" });
        let request = user.post(app.url("/uploads/presign")).json(&body);
        async move {
            let pending: Value = request.send().await.unwrap().json().await.unwrap();
            let put = &pending["upload"];
            let (status, _) =
                curl("PUT", put["url"].as_str().unwrap(), &headers_of(put), Some(&bytes));
            assert_eq!(status, 200);
            pending["id"].as_str().unwrap().to_owned()
        }
    };
    let id = send(std::fs::read(cases.path().join("phantom.zip")).unwrap()).await;
    let ready: Value = user.post(app.url(&format!("/uploads/{id}/complete"))).fetch_json().await;
    assert_eq!(ready["state"], "ready", "{ready}");
    assert_eq!(ready["volume"]["dims"], json!([64, 56, 30]));
    assert_eq!(ready["volume"]["value_range"], json!([-1000.0, 560.0]));
    let done = app
        .run_ok(&user, &json!({ "upload_id": id, "mode": "volume", "params": { "iso": "bone" } }))
        .await;
    assert_eq!(done["result"]["voxels"], json!([64, 56, 30]));

    // Two series with the same slice twice over: refused at `complete`, and deleted.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for dir in ["phantom", "uneven"] {
        for entry in std::fs::read_dir(cases.path().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        }
    }
    let id = send(zip.finish().unwrap().into_inner()).await;
    let response = user.post(app.url(&format!("/uploads/{id}/complete"))).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("same position"), "{error}");
    let gone = user.get(app.url(&format!("/uploads/{id}"))).send().await.unwrap();
    assert_eq!(gone.status(), 404, "the refused upload is gone");
}
