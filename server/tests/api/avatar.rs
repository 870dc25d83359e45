//! Avatars: an uploaded image becomes a 256 x 256 PNG of its central square, served with
//! caching headers to its owner; refused input is named; it goes with the account.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{FetchJson, TestApp, camera, png};

async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    client.post(app.url("/me/avatar")).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn an_avatar_is_the_central_square_at_256_px_served_with_caching() {
    let app = TestApp::spawn().await;
    let user = app.user("face@example.org").await;
    assert_eq!(
        user.get(app.url("/me/avatar")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // A wide image: left third black, middle white, right third black.
    let wide = image::GrayImage::from_fn(600, 200, |x, _| {
        image::Luma([if (200..400).contains(&x) { 255 } else { 0 }])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    wide.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    let stored = upload(&app, &user, "wide.png", bytes.into_inner()).await;
    assert_eq!(stored.status(), StatusCode::OK);
    let me: Value = stored.json().await.unwrap();
    let url = me["avatar_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/api/v1/me/avatar?v="), "{url}");

    let served = user.get(format!("{}{url}", app.base)).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert!(served.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let etag = served.headers()["etag"].to_str().unwrap().to_owned();
    let picture = image::load_from_memory(&served.bytes().await.unwrap()).unwrap().to_luma8();
    assert_eq!(picture.dimensions(), (256, 256));
    assert!(picture.pixels().all(|p| p.0[0] > 250), "the central square is the white middle");
    let again =
        user.get(format!("{}{url}", app.base)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A new one replaces it in storage.
    let replaced: Value = upload(&app, &user, "camera.png", camera()).await.json().await.unwrap();
    assert_ne!(replaced["avatar_url"], me["avatar_url"]);
    let files = crate::helpers::files_under(app.dir.path());
    let avatars: Vec<_> =
        files.iter().filter(|p| p.to_string_lossy().contains("/avatar/")).collect();
    assert_eq!(avatars.len(), 1, "the old one is deleted: {avatars:?}");

    // Removing it.
    let removed: Value = user.delete(app.url("/me/avatar")).fetch_json().await;
    assert!(removed["avatar_url"].is_null());
    assert!(
        !crate::helpers::files_under(app.dir.path())
            .iter()
            .any(|p| p.to_string_lossy().contains("/avatar/"))
    );
}

#[tokio::test]
async fn refused_avatars_are_named_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let user = app.user("refused@example.org").await;
    let text = upload(&app, &user, "notes.png", b"not an image at all".to_vec()).await;
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A PNG that declares 30000 x 30000 pixels in a few hundred bytes.
    let mut bomb = png(1);
    bomb[16..20].copy_from_slice(&30000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&30000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let refused = upload(&app, &user, "bomb.png", bomb).await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("avatar"), "{body}");
    let big = upload(&app, &user, "big.png", vec![0; 11 << 20]).await;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert!(me["avatar_url"].is_null());
    assert!(
        !crate::helpers::files_under(app.dir.path())
            .iter()
            .any(|p| p.to_string_lossy().contains("/avatar/"))
    );
}
