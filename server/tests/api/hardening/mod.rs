//! The hardening issue's probe, kept as tests: each case an attacker tried against a live
//! server, over HTTP (and raw sockets for the slow clients), on SQLite and PostgreSQL alike.
//!
//! Shared here: the probe's images and raw-socket helpers.

mod logins;
mod protections;
mod slow_clients;
mod uploads;
mod work;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// A 60x60 grey PNG, black except a 4x4 white block: the probe's image.
pub(super) fn speck() -> Vec<u8> {
    let image = image::GrayImage::from_fn(60, 60, |x, y| {
        image::Luma([if x < 4 && y < 4 { 255 } else { 0 }])
    });
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    bytes
}

/// A PNG that declares `side` x `side` RGBA pixels, all zero: a few hundred kilobytes that
/// decode to `side² × 4` bytes.
pub(super) fn png_bomb(side: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, side, side);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_compression(png::Compression::Fast);
    {
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; side as usize * 4];
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    bytes
}

pub(super) async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: not the JSON envelope: {text:?}"));
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    (status, body)
}

/// Opens a raw connection to the app.
pub(super) async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection or `limit` passes; returns what came and
/// when the connection closed (`None`: still open at the limit).
pub(super) async fn read_until_closed(
    stream: &mut TcpStream,
    limit: Duration,
) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (String::from_utf8_lossy(&got).into_owned(), Some(start.elapsed()));
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}
