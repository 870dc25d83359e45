//! Free previews: a task's request made small ([`Job::preview`]) and run at once on the API's
//! CPU, from a shrunk copy of the upload kept in memory, so that the web app can show the
//! model (and a lithophane lit from behind) while its options change. Nothing is charged or
//! stored; previews are rate-limited per account ([`crate::limits::Rule::previews`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use lithos_engine::{
    BackendChoice, DecodeLimits, Engine, EngineOptions, Input, Job, PREVIEW_SOURCE, Report, Silent,
    SourceImage, decode,
};
use tokio::sync::Semaphore;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// Shrunk sources kept, most recently used last: a 512-pixel copy is at most 2 MB.
const CACHED_SOURCES: usize = 32;

/// The previews of this process: its engine, the shrunk sources, and a permit per core.
#[derive(Debug)]
pub struct Previews {
    engine: Engine,
    sources: Mutex<VecDeque<(String, Arc<SourceImage>)>>,
    running: Semaphore,
}

impl Previews {
    pub fn new() -> anyhow::Result<Self> {
        let options = EngineOptions { backend: BackendChoice::Cpu, ..Default::default() };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            engine: Engine::new(&options)?,
            sources: Mutex::new(VecDeque::new()),
            running: Semaphore::new(cores),
        })
    }

    /// `preview` (a [`Job::preview`]) run on upload `upload_id` (stored at `key`): the GLB,
    /// and the report (with the backlit view). The caller has checked that the upload is the
    /// user's and ready.
    pub async fn run(
        self: &Arc<Self>,
        state: &AppState,
        upload_id: &str,
        key: &str,
        preview: Job,
    ) -> ApiResult<(Vec<u8>, Report)> {
        let source = self.source(state, upload_id, key).await?;
        let _permit = self.running.acquire().await.expect("never closed");
        let previews = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut glb = Vec::new();
            let report = previews.engine.run(&preview, Input::Image(&source), &mut glb, &Silent)?;
            Ok((glb, report))
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
    }

    /// A text job's `preview`, set in `font` (a font upload's bytes) or the bundled font.
    pub async fn run_text(
        self: &Arc<Self>,
        font: Option<Vec<u8>>,
        preview: Job,
    ) -> ApiResult<(Vec<u8>, Report)> {
        let _permit = self.running.acquire().await.expect("never closed");
        let previews = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut glb = Vec::new();
            let limits = DecodeLimits::default();
            let input = match &font {
                Some(bytes) => Input::Encoded { bytes, limits },
                None => Input::None,
            };
            let report = previews.engine.run(&preview, input, &mut glb, &Silent)?;
            Ok((glb, report))
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
    }

    /// The upload's shrunk copy: from memory, or read, decoded within the decode budget and
    /// shrunk to [`PREVIEW_SOURCE`] pixels on its long side.
    async fn source(
        &self,
        state: &AppState,
        upload_id: &str,
        key: &str,
    ) -> ApiResult<Arc<SourceImage>> {
        if let Some(found) = self.cached(upload_id) {
            return Ok(found);
        }
        let bytes = state.storage.get(key).await.map_err(|e| ApiError::Internal(e.into()))?;
        let probe = decode::probe_cost(&bytes, DecodeLimits::default())?;
        let reservation = crate::routes::uploads::reserve(state, probe.decoded_bytes).await?;
        let shrunk = tokio::task::spawn_blocking(move || {
            let image = decode::decode_bytes(&bytes, DecodeLimits::default());
            drop(reservation);
            image.map(|image| image.shrunk(PREVIEW_SOURCE))
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
        let shrunk = Arc::new(shrunk);
        let mut sources = self.sources.lock().expect("not poisoned");
        sources.push_back((upload_id.to_owned(), shrunk.clone()));
        if sources.len() > CACHED_SOURCES {
            sources.pop_front();
        }
        Ok(shrunk)
    }

    fn cached(&self, upload_id: &str) -> Option<Arc<SourceImage>> {
        let mut sources = self.sources.lock().expect("not poisoned");
        let at = sources.iter().position(|(id, _)| id == upload_id)?;
        let entry = sources.remove(at).expect("found above");
        let image = entry.1.clone();
        sources.push_back(entry);
        Some(image)
    }
}
