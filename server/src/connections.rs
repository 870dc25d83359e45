//! Accepting connections, with the limits a public server needs against slow clients: a
//! cap on open connections, a deadline for each request's headers (which also ends idle
//! keep-alive connections), and a minimum rate for request bodies.
//!
//! axum's `serve` sets none of these, so a client that sends half its headers and stops, or
//! one header every few seconds, held a connection for as long as it liked.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

/// How patient the server is with each connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectionLimits {
    /// Connections open at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// A request's headers must arrive whole within this; an idle keep-alive connection is
    /// closed after it too.
    pub header_read_timeout: Duration,
    /// A request body must bring at least `body_min_bytes_per_second` times this in every
    /// such window, or the request fails with 408.
    pub body_rate_window: Duration,
    pub body_min_bytes_per_second: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_rate_window: Duration::from_secs(10),
            body_min_bytes_per_second: 1024,
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets open requests finish for up
/// to `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(|body| {
                Body::new(MinRate::new(
                    body,
                    limits.body_min_bytes_per_second,
                    limits.body_rate_window,
                ))
            });
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = tower::ServiceExt::oneshot(app, request).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the grace period were closed");
    }
    Ok(())
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A request body that arrives slower than its minimum rate.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {min_bytes} bytes in {window:?}; send it faster")]
pub struct BodyTooSlow {
    pub min_bytes: u64,
    pub window: Duration,
}

pin_project_lite::pin_project! {
    /// A body that fails with [`BodyTooSlow`] when a window passes without its share of bytes.
    struct MinRate<B> {
        #[pin]
        inner: B,
        #[pin]
        deadline: Sleep,
        received: u64,
        min_bytes: u64,
        window: Duration,
    }
}

impl<B> MinRate<B> {
    fn new(inner: B, bytes_per_second: u64, window: Duration) -> Self {
        let min_bytes = (bytes_per_second as f64 * window.as_secs_f64()) as u64;
        Self { inner, deadline: tokio::time::sleep(window), received: 0, min_bytes, window }
    }
}

impl<B> HttpBody for MinRate<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.received += data.len() as u64;
                    if *this.received >= *this.min_bytes {
                        *this.received = 0;
                        this.deadline.reset(Instant::now() + *this.window);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(this.deadline.poll(cx));
                let error = BodyTooSlow { min_bytes: *this.min_bytes, window: *this.window };
                Poll::Ready(Some(Err(Box::new(error))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` (from reading a request body) was a body that came too slowly.
pub fn is_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<BodyTooSlow>() {
            return true;
        }
        next = e.source();
    }
    false
}
