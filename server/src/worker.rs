//! Workers: the same code runs in `lithos serve` (in-process, the embedded default) and in
//! `lithos worker` on GPU hosts.
//!
//! Each slot of a [`Pool`] claims a job from the [`Queue`], reads the source from storage,
//! runs the engine on a blocking thread while the output streams to storage, and settles the
//! task and its credits in one transaction fenced by the job's lease. A heartbeat extends the
//! lease, publishes progress and notices cancellation. A lost lease stops the run and writes
//! nothing; a transient failure (storage, database) is retried with backoff; a failure of the
//! input itself (a corrupt image, an empty mask) fails the task at once. Credits were reserved
//! when the task was created: success captures them, failure and cancellation release them,
//! each exactly once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lithos_engine::{DecodeLimits, Engine, EngineError, Progress, Stage, decode};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::credits::{self, Kind};
use crate::db::Kind as DbKind;
use crate::decode_budget::DecodeBudget;
use crate::queue::{Beat, Lease, Queue, Retry};
use crate::storage::{Storage, StorageError};
use crate::task_params::{TaskMode, TaskParams};
use crate::{new_id, now_ms};
use lithos_engine::MeshFormat;

/// Live state of the jobs this process runs, shared with the request handlers.
#[derive(Clone, Debug, Default)]
pub struct Handle {
    wake: Arc<Notify>,
    running: Arc<Mutex<HashMap<String, Arc<Live>>>>,
}

/// One running job's progress and flags.
#[derive(Debug)]
pub struct Live {
    lease: Lease,
    /// Progress 0..1 as `f64` bits.
    progress: AtomicU64,
    /// Stop at the next stage boundary.
    cancel: AtomicBool,
    /// The lease is gone (expired, re-claimed, or released at shutdown): write nothing.
    lost: AtomicBool,
}

impl Live {
    fn new(lease: Lease) -> Self {
        Self {
            lease,
            progress: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            lost: AtomicBool::new(false),
        }
    }

    pub fn progress(&self) -> f64 {
        f64::from_bits(self.progress.load(Ordering::Relaxed))
    }

    fn abandon(&self) {
        self.lost.store(true, Ordering::Relaxed);
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Handle {
    /// A job was queued: wake an idle slot.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// The progress of a running task, if this process runs it.
    pub fn progress(&self, task_id: &str) -> Option<f64> {
        self.lock().get(task_id).map(|live| live.progress())
    }

    /// Asks a running task to stop at its next stage boundary; false if it is not running
    /// here (its worker then notices at its next heartbeat).
    pub fn cancel(&self, task_id: &str) -> bool {
        self.lock().get(task_id).map(|live| live.cancel.store(true, Ordering::Relaxed)).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Live>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How a pool runs.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Jobs run at once.
    pub concurrency: usize,
    /// `serve` or `worker`, as the registry shows it.
    pub kind: &'static str,
    /// How long shutdown waits for running jobs before releasing their leases.
    pub grace: Duration,
    pub time_limits: TimeLimits,
    /// Memory for decoding sources; a job waits for its share before it decodes.
    pub decode_budget: DecodeBudget,
}

impl PoolOptions {
    /// `concurrency` slots of kind `kind` (`serve` or `worker`) under `config`'s limits.
    pub fn new(concurrency: usize, kind: &'static str, config: &crate::Config) -> Self {
        Self {
            concurrency,
            kind,
            grace: config.shutdown_grace,
            time_limits: TimeLimits::of(config),
            decode_budget: DecodeBudget::new(config.decode_budget_bytes),
        }
    }
}

/// How long a task may run, by its owner's plan: the watchdog's limits.
#[derive(Clone, Debug)]
pub struct TimeLimits {
    pub default: Duration,
    pub per_plan: std::collections::BTreeMap<String, Duration>,
}

impl TimeLimits {
    pub fn of(config: &crate::Config) -> Self {
        Self { default: config.task_time_limit, per_plan: config.plan_time_limits.clone() }
    }

    pub fn for_plan(&self, plan: &str) -> Duration {
        self.per_plan.get(plan).copied().unwrap_or(self.default)
    }
}

/// The worker slots and their housekeeping.
#[derive(Debug)]
pub struct Pool {
    pub id: String,
    stop: watch::Sender<bool>,
    slots: Vec<tokio::task::JoinHandle<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
    handle: Handle,
    queue: Queue,
    grace: Duration,
}

impl Pool {
    /// Registers this worker and starts its slots (none when `concurrency` is 0: an API-only
    /// server whose jobs run on `lithos worker` hosts).
    pub async fn start(
        queue: Queue,
        storage: Arc<Storage>,
        engine: Arc<Engine>,
        options: PoolOptions,
    ) -> anyhow::Result<(Self, Handle)> {
        let handle = Handle::default();
        let (stop, stopped) = watch::channel(false);
        let id = new_id();
        let mut background = Vec::new();
        if options.concurrency > 0 {
            register(&queue, &id, &engine, &options).await?;
            background.push(tokio::spawn(keep_registered(
                queue.clone(),
                id.clone(),
                stopped.clone(),
            )));
            if queue.db.kind == DbKind::Postgres {
                background.push(tokio::spawn(listen(
                    queue.clone(),
                    handle.clone(),
                    stopped.clone(),
                )));
            }
        }
        let slots = (0..options.concurrency)
            .map(|_| {
                let slot = Slot {
                    worker_id: id.clone(),
                    queue: queue.clone(),
                    storage: storage.clone(),
                    engine: engine.clone(),
                    handle: handle.clone(),
                    time_limits: options.time_limits.clone(),
                    decode_budget: options.decode_budget.clone(),
                };
                tokio::spawn(slot.run(stopped.clone()))
            })
            .collect();
        let pool = Self {
            id,
            stop,
            slots,
            background,
            handle: handle.clone(),
            queue,
            grace: options.grace,
        };
        Ok((pool, handle))
    }

    /// Stops claiming, lets running jobs finish within the grace period, then releases the
    /// leases of those still running so another worker takes them at once.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut slots = self.slots;
        let finished = tokio::time::timeout(self.grace, async {
            for slot in &mut slots {
                let _ = slot.await;
            }
        })
        .await;
        if finished.is_err() {
            let running: Vec<Arc<Live>> = self.handle.lock().values().cloned().collect();
            for live in running {
                live.abandon();
                match self.queue.release(&live.lease).await {
                    Ok(true) => tracing::warn!(task = %live.lease.task_id, "released at shutdown"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(task = %live.lease.task_id, error = ?e, "releasing failed; the lease will expire")
                    }
                }
            }
            for slot in slots {
                let _ = tokio::time::timeout(Duration::from_secs(5), slot).await;
            }
        }
        for task in self.background {
            task.abort();
        }
        let _gate = self.queue.db.write_gate().await;
        let _ = sqlx::query("UPDATE workers SET stopped_at = $1, last_seen = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(&self.id)
            .execute(&self.queue.db.pool)
            .await;
    }
}

async fn register(
    queue: &Queue,
    id: &str,
    engine: &Engine,
    options: &PoolOptions,
) -> anyhow::Result<()> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let _gate = queue.db.write_gate().await;
    sqlx::query(
        "INSERT INTO workers (id, hostname, pid, version, backend, adapter, concurrency, kind, \
         started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id)
    .bind(hostname)
    .bind(i64::from(std::process::id()))
    .bind(env!("CARGO_PKG_VERSION"))
    .bind(format!("{:?}", engine.backend()).to_lowercase())
    .bind(engine.adapter())
    .bind(options.concurrency as i64)
    .bind(options.kind)
    .bind(now_ms())
    .execute(&queue.db.pool)
    .await?;
    Ok(())
}

/// Keeps `last_seen` fresh, and prunes finished jobs now and then.
async fn keep_registered(queue: Queue, id: String, mut stopped: watch::Receiver<bool>) {
    let mut beats = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(queue.config.heartbeat) => {}
            _ = stopped.changed() => return,
        }
        let touched = {
            let _gate = queue.db.write_gate().await;
            sqlx::query("UPDATE workers SET last_seen = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(&id)
                .execute(&queue.db.pool)
                .await
        };
        if let Err(e) = touched {
            tracing::warn!(error = ?e, "updating the worker registry failed");
        }
        beats += 1;
        if beats % 6 == 1 {
            match queue.prune().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned finished jobs"),
                Err(e) => tracing::warn!(error = ?e, "pruning finished jobs failed"),
            }
        }
    }
}

/// PostgreSQL wake-ups: `LISTEN lithos_jobs`, reconnecting with backoff. Polling covers the
/// gaps.
async fn listen(queue: Queue, handle: Handle, mut stopped: watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let session = async {
            let mut listener = sqlx::postgres::PgListener::connect(&queue.db.url).await?;
            listener.listen(crate::queue::CHANNEL).await?;
            loop {
                listener.recv().await?;
                handle.notify();
            }
            #[expect(unreachable_code, reason = "the loop only ends by error")]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            result = session => {
                if let Err(e) = result {
                    tracing::warn!(error = ?e, "LISTEN connection lost; polling until it is back");
                }
            }
            _ = stopped.changed() => return,
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

struct Slot {
    worker_id: String,
    queue: Queue,
    storage: Arc<Storage>,
    engine: Arc<Engine>,
    handle: Handle,
    time_limits: TimeLimits,
    decode_budget: DecodeBudget,
}

/// A claimed job's task row.
#[derive(sqlx::FromRow)]
struct Task {
    id: String,
    user_id: String,
    mode: String,
    params: String,
    format: String,
    cost: i64,
    cancel_requested: i64,
    storage_key: String,
    plan: String,
}

/// How a run ended.
enum Outcome {
    Succeeded {
        report: serde_json::Value,
        output_key: String,
    },
    /// The input or parameters are at fault: retrying would fail the same way.
    Failed(String),
    /// Storage or the database failed: worth another attempt.
    Transient(String),
    Canceled,
}

impl Slot {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
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
             u.storage_key, a.plan FROM tasks t JOIN uploads u ON u.id = t.upload_id \
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
                let _ = self.storage.delete(output_key).await;
            }
            return Ok(());
        }
        self.settle(&task, lease, outcome).await
    }

    async fn execute(&self, task: &Task, lease: &Lease, live: Arc<Live>) -> Outcome {
        let started = std::time::Instant::now();
        let time_limit = self.time_limits.for_plan(&task.plan);
        let bytes = match self.storage.get(&task.storage_key).await {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound(_)) => {
                return Outcome::Failed(
                    "the uploaded image is no longer stored; upload it again".into(),
                );
            }
            Err(e) => return storage_outcome(e),
        };
        let prepared = (|| {
            let mode: TaskMode =
                serde_json::from_value(json!(task.mode)).map_err(|e| e.to_string())?;
            let params: TaskParams =
                serde_json::from_str(&task.params).map_err(|e| e.to_string())?;
            let format: MeshFormat =
                task.format.parse().map_err(|e: lithos_engine::ParamError| e.to_string())?;
            let (params, solid) = params.build(mode, format).map_err(|e| e.to_string())?;
            Ok::<_, String>((format, params, solid))
        })();
        let (format, params, solid) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => {
                return Outcome::Failed(format!("the task's parameters are invalid: {message}"));
            }
        };
        let output_key = output_key(task, lease.attempt, format.extension());
        let sink = match self.storage.sink(&output_key, format.content_type()) {
            Ok(sink) => sink,
            Err(e) => return storage_outcome(e),
        };
        let engine = self.engine.clone();
        let progress = TaskProgress {
            live,
            stages: if solid.is_some() {
                lithos_engine::SOLID_STAGES.len()
            } else {
                lithos_engine::HEIGHTFIELD_STAGES.len()
            } as f64,
            done: AtomicU64::new(0),
            deadline: started + time_limit,
            timed_out: AtomicBool::new(false),
        };
        // The decode's memory, from the header, out of the process's budget; waiting here
        // keeps concurrent decodes (uploads and jobs) within it.
        let decoded_bytes = decode::probe_cost(&bytes, DecodeLimits::default())
            .map_or(0, |probe| probe.decoded_bytes);
        let reservation = self.decode_budget.reserve(decoded_bytes).await;
        // The worker's own stages around the engine's: reading the source, decoding it, and
        // committing the output (on S3, waiting for the parts still going up).
        let fetch = started.elapsed().as_secs_f64();
        let run = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, RunError> {
            let mut sink = sink;
            let decoding = std::time::Instant::now();
            let image = decode::decode_bytes(&bytes, DecodeLimits::default());
            drop(reservation);
            let image = image?;
            let decode = decoding.elapsed().as_secs_f64();
            drop(bytes);
            let written = match solid {
                Some(solid) => {
                    let mut times = Vec::new();
                    engine.solid(&image, &params, &solid, &progress, &mut times).and_then(|mesh| {
                        let stats = engine.write_indexed_to(&mesh, format, &mut sink, &progress, &mut times)?;
                        Ok(json!({ "triangles": stats.triangles, "bytes": stats.bytes, "vertices": mesh.positions.len(), "stages": stage_times(&times) }))
                    })
                }
                None => engine.convert_image_to(&image, &params, format, &mut sink, &progress).map(|report| {
                    json!({ "triangles": report.triangles, "bytes": report.bytes, "grid": report.grid, "size_mm": report.size_mm, "stages": stage_times(&report.stages) })
                }),
            };
            let mut report = match written {
                Ok(report) => report,
                Err(EngineError::Canceled) if progress.timed_out.load(Ordering::Relaxed) => {
                    return Err(RunError::TimedOut);
                }
                // A write the storage refused is the storage's failure, not the engine's.
                Err(e) => return Err(sink.failure().map_or(RunError::Engine(e), RunError::Storage)),
            };
            let storing = std::time::Instant::now();
            sink.finish()?;
            report["stages"]["fetch"] = json!(fetch);
            report["stages"]["decode"] = json!(decode);
            report["stages"]["store"] = json!(storing.elapsed().as_secs_f64());
            Ok(report)
        })
        .await;
        let mut report = match run {
            Ok(Ok(report)) => report,
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
        if let Some(triangles) = report["triangles"].as_f64() {
            metrics::histogram!("lithos_engine_triangles_per_second", "mode" => task.mode.clone())
                .record(triangles / seconds);
        }
        if let Some([w, h]) = report["grid"].as_array().map(|g| [g[0].as_f64(), g[1].as_f64()]) {
            let megapixels = w.unwrap_or(0.0) * h.unwrap_or(0.0) / 1e6;
            metrics::histogram!("lithos_engine_megapixels_per_second", "mode" => task.mode.clone())
                .record(megapixels / seconds);
        }
        report["format"] = json!(task.format);
        report["seconds"] = json!(seconds);
        report["attempt"] = json!(lease.attempt);
        Outcome::Succeeded { report, output_key }
    }

    async fn settle(&self, task: &Task, lease: &Lease, outcome: Outcome) -> anyhow::Result<()> {
        let outcome = match outcome {
            Outcome::Transient(message) => {
                tracing::warn!(task = %task.id, attempt = lease.attempt, error = %message, "attempt failed");
                match self.queue.retry(lease, &message).await? {
                    Retry::Scheduled { .. } | Retry::Lost => return Ok(()),
                    Retry::Exhausted => Outcome::Failed(format!(
                        "gave up after {} attempts: {message}",
                        lease.attempt
                    )),
                }
            }
            other => other,
        };
        let this_output = match &outcome {
            Outcome::Succeeded { output_key, .. } => Some(output_key.clone()),
            _ => None,
        };
        let settled = self.settle_fenced(task, lease, outcome).await;
        if matches!(settled, Ok(true)) {
            // Earlier attempts whose workers died after storing their output but before
            // settling left objects no record points to: remove them.
            // (A task whose format does not parse never ran, and stored nothing.)
            if let Ok(format) = task.format.parse::<MeshFormat>() {
                for attempt in 1..lease.attempt {
                    let key = output_key(task, attempt, format.extension());
                    let _ = self.storage.delete(&key).await;
                }
            }
        } else if let Some(key) = this_output {
            // Rejected (or failed): leave no trace of this attempt.
            let _ = self.storage.delete(&key).await;
        }
        settled.map(|_| ())
    }

    /// One transaction: the job done (fenced by the lease), the task's outcome, and its
    /// credits. False, with nothing written, when the lease is no longer ours.
    async fn settle_fenced(
        &self,
        task: &Task,
        lease: &Lease,
        outcome: Outcome,
    ) -> anyhow::Result<bool> {
        let (status, error, result, output_key) = match &outcome {
            Outcome::Succeeded { report, output_key } => {
                ("succeeded", None, Some(report.to_string()), Some(output_key.clone()))
            }
            Outcome::Failed(message) => ("failed", Some(message.clone()), None, None),
            Outcome::Canceled => ("canceled", None, None, None),
            Outcome::Transient(_) => unreachable!("retried above"),
        };
        let db = &self.queue.db;
        let _gate = db.write_gate().await;
        let mut tx = db.pool.begin().await?;
        if !self.queue.finish(&mut tx, lease, status, error.as_deref()).await? {
            tracing::warn!(task = %task.id, attempt = lease.attempt, "completion rejected: the lease is no longer ours");
            return Ok(false);
        }
        // Throughput figures the console charts.
        let (megapixels, triangles) = match &outcome {
            Outcome::Succeeded { report, .. } => (
                report["grid"].as_array().and_then(|g| Some(g[0].as_f64()? * g[1].as_f64()? / 1e6)),
                report["triangles"].as_i64(),
            ),
            _ => (None, None),
        };
        let moved = sqlx::query(
            "UPDATE tasks SET status = $1, error = $2, result = $3, output_key = $4, \
             progress = $5, finished_at = $6, megapixels = NULLIF($7, -1.0), triangles = $8 \
             WHERE id = $9 AND status = 'running'",
        )
        .bind(status)
        .bind(error)
        .bind(result)
        .bind(output_key)
        .bind(if status == "succeeded" { 1.0 } else { 0.0 })
        .bind(now_ms())
        // Never a NULL double (see `db`): solids have no megapixels.
        .bind(megapixels.unwrap_or(-1.0))
        .bind(triangles)
        .bind(&task.id)
        .execute(&mut *tx)
        .await?;
        anyhow::ensure!(moved.rows_affected() == 1, "task {} was not running", task.id);
        let (kind, amount, reason) = match outcome {
            Outcome::Succeeded { .. } => (Kind::Capture, 0, "task succeeded"),
            Outcome::Canceled => (Kind::Release, task.cost, "task canceled"),
            _ => (Kind::Release, task.cost, "task failed"),
        };
        credits::post(&mut tx, &task.user_id, kind, amount, reason, Some(&task.id), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if kind == Kind::Capture {
            sqlx::query(
                "INSERT INTO usage_events (user_id, feature, mode, credits, task_id, created_at) \
                 VALUES ($1, 'task', $2, $3, $4, $5)",
            )
            .bind(&task.user_id)
            .bind(&task.mode)
            .bind(task.cost)
            .bind(&task.id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE workers SET jobs_done = jobs_done + 1, \
             jobs_failed = jobs_failed + $2 WHERE id = $1",
        )
        .bind(&self.worker_id)
        .bind(i64::from(status == "failed"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        metrics::counter!("lithos_tasks_finished_total", "mode" => task.mode.clone(), "outcome" => status).increment(1);
        Ok(true)
    }
}

/// Where an attempt stores its output: per attempt, so that a stale worker can never overwrite
/// the output of the attempt that owns the job.
fn output_key(task: &Task, attempt: i64, extension: &str) -> String {
    format!("users/{}/outputs/{}-{attempt}.{extension}", task.user_id, task.id)
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

fn storage_outcome(e: StorageError) -> Outcome {
    if e.is_transient() {
        Outcome::Transient(e.to_string())
    } else {
        Outcome::Failed(format!("{e}; the task was not charged"))
    }
}

fn stage_times(times: &[lithos_engine::StageTime]) -> serde_json::Value {
    times
        .iter()
        .map(|t| (t.stage.name().to_owned(), json!(t.seconds)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Engine progress as one fraction: each stage an equal share, the mesh stage by its own
/// fraction.
struct TaskProgress {
    live: Arc<Live>,
    stages: f64,
    done: AtomicU64,
    /// The watchdog: past this instant the engine is told to stop at its next check.
    deadline: std::time::Instant,
    timed_out: AtomicBool,
}

impl Progress for TaskProgress {
    fn stage(&self, _stage: Stage) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) as f64;
        let fraction = (done / self.stages).min(0.99);
        self.live.progress.store(fraction.to_bits(), Ordering::Relaxed);
    }

    fn advance(&self, fraction: f64) {
        let done = (self.done.load(Ordering::Relaxed) as f64 - 1.0).max(0.0);
        let total = ((done + fraction.clamp(0.0, 1.0)) / self.stages).min(0.99);
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
