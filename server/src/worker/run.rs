//! Running a claimed job: read the source, decode it within the decode budget, run the engine
//! on a blocking thread under the watchdog while the output streams to storage, and keep the
//! lease alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::io::Write;

use lithos_engine::{
    DecodeLimits, EngineError, Input, JobKind, JobMode, JobRequest, MeshFormat, ParamError,
    Progress, Report, Stage, StageTime, decode,
};
use tokio::sync::watch;

use super::settle::output_key;
use super::{Live, Outcome, Slot, Task, TaskReport};
use crate::storage::StorageError;
use crate::tasks::pictures::{Picture, stored_keys};
use crate::tasks::queue::{Beat, Lease, Queue};
use crate::volumes::{self, VolumeInfo};

/// The pictures a run made, as PNG, to store beside its output.
type Pictures = Vec<(Picture, Vec<u8>)>;

impl Slot {
    pub(super) async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                return;
            }
            match self.queue.claim(&self.worker_id, 1).await {
                Ok(leases) if !leases.is_empty() => {
                    for lease in leases {
                        self.process(lease).await;
                    }
                }
                Ok(_) => {
                    tokio::select! {
                        _ = self.handle.wake.notified() => {}
                        _ = tokio::time::sleep(self.queue.config.poll) => {}
                        _ = stopped.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = ?e, "claiming a job failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn process(&self, lease: Lease) {
        let live = Arc::new(Live::new(lease.clone()));
        self.handle.lock().insert(lease.task_id.clone(), live.clone());
        let result = self.process_claimed(&lease, &live).await;
        self.handle.lock().remove(&lease.task_id);
        if let Err(e) = result {
            // The lease will expire and another attempt will run.
            tracing::error!(task = %lease.task_id, error = ?e, "settling a job failed");
        }
    }

    async fn process_claimed(&self, lease: &Lease, live: &Arc<Live>) -> anyhow::Result<()> {
        let task: Task = sqlx::query_as(
            "SELECT t.id, t.user_id, t.mode, t.params, t.format, t.cost, t.cancel_requested, \
             u.storage_key, a.plan, u.volume, t.generation FROM tasks t LEFT JOIN uploads u ON u.id = t.upload_id \
             JOIN users a ON a.id = t.user_id WHERE t.id = $1",
        )
        .bind(&lease.task_id)
        .fetch_one(&self.queue.db.pool)
        .await?;
        if task.cancel_requested != 0 {
            return self.settle(&task, lease, Outcome::Canceled).await;
        }
        if lease.attempt > lease.max_attempts {
            // Claimed again after its last attempt's worker vanished.
            let last = self
                .queue
                .last_error(&task.id)
                .await?
                .unwrap_or_else(|| "the worker running it stopped responding".to_owned());
            let message = format!("gave up after {} attempts: {last}", lease.max_attempts);
            return self.settle(&task, lease, Outcome::Failed(message)).await;
        }
        let (stop_heartbeat, stopped) = tokio::sync::oneshot::channel::<()>();
        let heartbeat = tokio::spawn(heartbeat(self.queue.clone(), live.clone(), stopped));
        let outcome = self.execute(&task, lease, live.clone()).await;
        // Stopped, not aborted: a query dropped halfway leaves its pooled connection with a
        // half-sent exchange, which the next query on it would inherit.
        drop(stop_heartbeat);
        let _ = heartbeat.await;
        if live.lost.load(Ordering::Relaxed) {
            tracing::warn!(task = %task.id, attempt = lease.attempt, "lease lost; the result is dropped");
            if let Outcome::Succeeded { output_key, .. } = &outcome {
                let _ = self.storage.delete_many(stored_keys(output_key)).await;
            }
            return Ok(());
        }
        self.settle(&task, lease, outcome).await
    }

    async fn execute(&self, task: &Task, lease: &Lease, live: Arc<Live>) -> Outcome {
        let started = std::time::Instant::now();
        let time_limit = self.time_limits.for_plan(&task.plan);
        let job = (|| {
            let mode: JobMode = task.mode.parse()?;
            let format: MeshFormat = task.format.parse()?;
            let request: JobRequest = serde_json::from_str(&task.params)
                .map_err(|e| ParamError::new("params", e.to_string()))?;
            request.build(mode, Some(format))
        })();
        let mut job = match job {
            Ok(job) => job,
            Err(e) => {
                return Outcome::Failed(format!("the task's parameters are invalid: {e}"));
            }
        };
        // A generated job's model comes from the provider (made of its prompt, or of its
        // uploaded photo); every other job reads its upload, if any.
        let mut generated = None;
        let fetched = match &task.storage_key {
            _ if job.mode().is_generated() => {
                let generating = std::time::Instant::now();
                match self.generate(task, &job, &live).await {
                    Ok(bytes) => {
                        let seconds = generating.elapsed().as_secs_f64();
                        generated = Some(StageTime { stage: Stage::Generate, seconds });
                        Ok(bytes)
                    }
                    Err(outcome) => return outcome,
                }
            }
            Some(key) => self.storage.get(key).await,
            None => Ok(Vec::new()),
        };
        let bytes = match fetched {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound(_)) => {
                return Outcome::Failed(
                    "the uploaded file is no longer stored; upload it again".into(),
                );
            }
            Err(e) => return storage_outcome(e),
        };
        // The watchdog's clock starts once the model is here: the provider's time is its own
        // (`generation.timeout_seconds`).
        let started = if generated.is_some() { std::time::Instant::now() } else { started };
        // A lithophane's view lit from behind, and a palette relief's colours, are stored
        // beside it, as is every thumbnail.
        job.backlit = job.has_picture();
        let output_key = output_key(task, lease.attempt, job.format.extension());
        let sink = match self.storage.sink(&output_key, job.format.content_type()) {
            Ok(sink) => sink,
            Err(e) => return storage_outcome(e),
        };
        let engine = self.engine.clone();
        let progress = TaskProgress {
            live,
            base: if generated.is_some() { super::generate::GENERATION_SHARE } else { 0.0 },
            stages: job.stages().len() as f64,
            done: AtomicU64::new(0),
            deadline: started + time_limit,
            timed_out: AtomicBool::new(false),
        };
        // The decode's memory (from the image's header, or the volume's description) out of
        // the process's budget; waiting here keeps concurrent decodes (uploads and jobs)
        // within it.
        let volume: Option<VolumeInfo> =
            task.volume.as_deref().and_then(|v| serde_json::from_str(v).ok());
        // A PNG, TIFF or baseline JPEG larger than its grid goes to the engine encoded, which reads
        // it a row at a time onto the grid: it needs no more than the grid, never the image.
        let limits = DecodeLimits::default();
        let streamed = job.reads_rows(Input::Encoded { bytes: &bytes, limits });
        let decoded_bytes = match &volume {
            Some(info) => Some(info.sample_bytes()),
            // A 3D file: what reading and repairing it holds (the plan's estimate is by
            // triangles; a triangle takes at least 12 bytes of file).
            None if job.mesh_params().is_some() => Some((bytes.len() as u64).saturating_mul(16)),
            // Text: its field's planes, as the work estimate counts them, are small.
            None if matches!(job.kind, JobKind::Text(_)) => None,
            None if streamed => None,
            None => Some(decode::probe_cost(&bytes, limits).map_or(0, |probe| probe.decoded_bytes)),
        };
        let reservation = match decoded_bytes {
            Some(bytes) => Some(self.decode_budget.reserve(bytes).await),
            None => None,
        };
        // The worker's own stages around the engine's: reading the source, decoding it, and
        // committing the output (on S3, waiting for the parts still going up).
        let fetch = generated
            .unwrap_or(StageTime { stage: Stage::Fetch, seconds: started.elapsed().as_secs_f64() });
        let bundled_font = task.storage_key.is_none();
        let run = tokio::task::spawn_blocking(move || -> Result<(Report, Pictures), RunError> {
            let mut sink = sink;
            let decoding = std::time::Instant::now();
            let source = match &job.kind {
                JobKind::Volume(params, source) => {
                    // Volumes are read from a file: DICOM series and ZIPs are many files.
                    let mut file = tempfile::NamedTempFile::new().map_err(io_failure)?;
                    file.write_all(&bytes).map_err(io_failure)?;
                    drop(bytes);
                    let volume = volumes::read_for_job(file.path(), params, *source);
                    drop(reservation);
                    Source::Volume(volume?)
                }
                // A 3D file is read, repaired and written by the engine, holding the budget.
                _ if job.mesh_params().is_some() => Source::Model { bytes, _budget: reservation },
                // A font upload, or none for the bundled font.
                JobKind::Text(_) if bundled_font => Source::BundledFont,
                JobKind::Text(_) => Source::Encoded(bytes),
                _ if streamed => {
                    drop(reservation);
                    Source::Encoded(bytes)
                }
                _ => {
                    let image = decode::decode_bytes(&bytes, limits);
                    drop(reservation);
                    drop(bytes);
                    Source::Image(image?)
                }
            };
            let decode =
                StageTime { stage: Stage::Decode, seconds: decoding.elapsed().as_secs_f64() };
            let input = match &source {
                Source::Encoded(bytes) | Source::Model { bytes, .. } => {
                    Input::Encoded { bytes, limits }
                }
                Source::Image(image) => Input::Image(image),
                Source::Volume(volume) => Input::Volume(volume),
                Source::BundledFont => Input::None,
            };
            let mut report = match engine.run(&job, input, &mut sink, &progress) {
                Ok(report) => report,
                Err(EngineError::Canceled) if progress.timed_out.load(Ordering::Relaxed) => {
                    return Err(RunError::TimedOut);
                }
                // A write the storage refused is the storage's failure, not the engine's.
                Err(e) => {
                    return Err(sink.failure().map_or(RunError::Engine(e), RunError::Storage));
                }
            };
            let storing = std::time::Instant::now();
            sink.finish()?;
            let store = StageTime { stage: Stage::Store, seconds: storing.elapsed().as_secs_f64() };
            report.stages.splice(0..0, [fetch, decode]);
            report.stages.push(store);
            let mut pictures = Vec::new();
            if let Some(png) = report.thumbnail.take() {
                pictures.push((Picture::Thumbnail, png));
            }
            if let Some(image) = report.backlit.take() {
                pictures.push((Picture::Backlit, lithos_engine::backlit::png(&image)));
            }
            if let Some(image) = report.colours.take() {
                pictures.push((Picture::Colours, lithos_engine::palette::png(&image)));
            }
            Ok((report, pictures))
        })
        .await;
        let (mut report, pictures) = match run {
            Ok(Ok(done)) => done,
            Ok(Err(RunError::Engine(EngineError::Canceled))) => return Outcome::Canceled,
            Ok(Err(RunError::TimedOut)) => {
                return Outcome::Failed(format!(
                    "the task ran past its time limit of {} s (plan {}) and was stopped; its \
                     credits were released. Try a smaller grid or a larger pixel_mm",
                    time_limit.as_secs_f64(),
                    task.plan
                ));
            }
            Ok(Err(RunError::Engine(e))) => return Outcome::Failed(e.to_string()),
            Ok(Err(RunError::Storage(e))) => return storage_outcome(e),
            Err(e) => return Outcome::Transient(format!("the engine thread failed: {e}")),
        };
        let seconds = started.elapsed().as_secs_f64().max(1e-9);
        let mode = task.mode.clone();
        metrics::histogram!("lithos_engine_triangles_per_second", "mode" => mode.clone())
            .record(report.triangles as f64 / seconds);
        if let Some(megapixels) = report.megapixels() {
            metrics::histogram!("lithos_engine_megapixels_per_second", "mode" => mode)
                .record(megapixels / seconds);
        }
        let mut stored = Vec::new();
        for (picture, png) in pictures {
            if let Err(e) = self.storage.put(&picture.key(&output_key), png, "image/png").await {
                let _ = self.storage.delete_many(stored_keys(&output_key)).await;
                return storage_outcome(e);
            }
            stored.push(picture);
        }
        report.seconds = seconds;
        Outcome::Succeeded {
            report: Box::new(TaskReport {
                engine: report,
                attempt: lease.attempt,
                pictures: stored,
            }),
            output_key,
        }
    }
}

/// Extends the lease every heartbeat until the job ends (`stopped` resolves, between beats
/// only); flags cancellation and loss.
async fn heartbeat(queue: Queue, live: Arc<Live>, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(queue.config.heartbeat) => {}
            _ = &mut stopped => return,
        }
        match queue.heartbeat(&live.lease, live.progress()).await {
            Ok(Beat::Held { cancel_requested }) => {
                if cancel_requested {
                    live.cancel.store(true, Ordering::Relaxed);
                }
            }
            Ok(Beat::Lost) => {
                live.abandon();
                return;
            }
            // The lease may still be ours; fencing keeps it safe either way.
            Err(e) => tracing::warn!(task = %live.lease.task_id, error = ?e, "heartbeat failed"),
        }
    }
}

/// What the engine runs on.
enum Source {
    /// An upload the engine reads a row at a time ([`lithos_engine::Job::reads_rows`]).
    Encoded(Vec<u8>),
    Image(lithos_engine::SourceImage),
    Volume(lithos_engine::Volume),
    /// A 3D file, and its share of the decode budget, held until the run ends.
    Model {
        bytes: Vec<u8>,
        _budget: Option<crate::decode_budget::Reservation>,
    },
    /// Text set in the engine's own font.
    BundledFont,
}

fn io_failure(e: std::io::Error) -> RunError {
    RunError::Engine(EngineError::ReadInput(e))
}

enum RunError {
    Engine(EngineError),
    Storage(StorageError),
    /// The watchdog stopped the run at the task's time limit.
    TimedOut,
}

impl From<EngineError> for RunError {
    fn from(e: EngineError) -> Self {
        RunError::Engine(e)
    }
}

impl From<StorageError> for RunError {
    fn from(e: StorageError) -> Self {
        RunError::Storage(e)
    }
}

pub(super) fn storage_outcome(e: StorageError) -> Outcome {
    if e.is_transient() {
        Outcome::Transient(e.to_string())
    } else {
        Outcome::Failed(format!("{e}; the task was not charged"))
    }
}

/// Engine progress as one fraction: each stage an equal share, the mesh stage by its own
/// fraction.
struct TaskProgress {
    live: Arc<Live>,
    /// The progress already made before the engine's stages (a generated model's).
    base: f64,
    stages: f64,
    done: AtomicU64,
    /// The watchdog: past this instant the engine is told to stop at its next check.
    deadline: std::time::Instant,
    timed_out: AtomicBool,
}

impl Progress for TaskProgress {
    fn stage(&self, _stage: Stage) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) as f64;
        let fraction = (self.base + (1.0 - self.base) * done / self.stages).min(0.99);
        self.live.progress.store(fraction.to_bits(), Ordering::Relaxed);
    }

    fn advance(&self, fraction: f64) {
        let done = (self.done.load(Ordering::Relaxed) as f64 - 1.0).max(0.0);
        let total = (self.base
            + (1.0 - self.base) * (done + fraction.clamp(0.0, 1.0)) / self.stages)
            .min(0.99);
        self.live.progress.store(total.to_bits(), Ordering::Relaxed);
    }

    fn is_canceled(&self) -> bool {
        if self.live.cancel.load(Ordering::Relaxed) {
            return true;
        }
        if std::time::Instant::now() >= self.deadline {
            self.timed_out.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}
