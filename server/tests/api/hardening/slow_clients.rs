//! Slow clients, on real sockets: the header deadline, the body rate and the connection cap.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{connect, read_until_closed};
use crate::helpers::TestApp;

#[tokio::test]
async fn slow_headers_are_cut_off_at_the_header_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    // Half a request, then silence.
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // A header every 300 ms, for as long as the server listens.
    let mut trickle = connect(&app).await;
    let dripping = tokio::spawn(async move {
        trickle.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        let start = Instant::now();
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if trickle.write_all(format!("X-Drip-{i}: {i}\r\n").as_bytes()).await.is_err() {
                return Some(start.elapsed());
            }
        }
        None
    });
    // Nothing at all.
    let mut silent = connect(&app).await;
    let (_, closed) = read_until_closed(&mut half, Duration::from_secs(5)).await;
    let closed = closed.expect("half a header is not held open");
    assert!(closed < Duration::from_secs(3), "closed after {closed:?}");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a silent connection is not held open");
    let cut = dripping.await.unwrap().expect("a dripping client is cut off");
    assert!(cut < Duration::from_secs(4), "cut after {cut:?}");
    // The server still serves everyone else.
    let ok = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_upload_body_below_the_minimum_rate_gets_408() {
    let app = TestApp::spawn_with(|c| {
        c.connections.body_rate_window = Duration::from_secs(1);
        c.connections.body_min_bytes_per_second = 1024;
    })
    .await;
    let browser = app.user("drip@example.org").await;
    let (_, key) = app.api_client(&browser).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n\
         --XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let drip = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(&[0u8; 10]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), reader.read_to_end(&mut got)).await;
    let elapsed = start.elapsed();
    drip.abort();
    assert!(read.is_ok(), "the server ended the request within 6 s");
    let response = String::from_utf8_lossy(&got);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"too_slow\""), "{response}");
    assert!(elapsed < Duration::from_secs(4), "after {elapsed:?}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_with(|c| {
        c.connections.max_connections = 2;
        c.connections.header_read_timeout = Duration::from_millis(1500);
    })
    .await;
    let _idle = [connect(&app).await, connect(&app).await];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&app).await;
    let start = Instant::now();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (early, _) = read_until_closed(&mut third, Duration::from_millis(700)).await;
    assert!(early.is_empty(), "served while both slots were held: {early}");
    // The idle two are closed at the header timeout; then the third is served.
    let (response, _) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    assert!(start.elapsed() >= Duration::from_millis(1000), "{:?}", start.elapsed());
}
