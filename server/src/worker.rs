//! The in-process worker pool: claims queued tasks from the database, runs the engine on a
//! blocking thread, and settles the task and its credits in one transaction.
//!
//! A claim is a conditional `UPDATE … WHERE status = 'queued'`, so two workers never run the
//! same task; tasks a killed process left `running` are queued again at start
//! ([`requeue_abandoned`]). Credits were reserved when the task was created: success captures
//! them, failure and cancellation release them, each exactly once because the settling
//! transaction only moves a task out of `running` once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lithos_engine::{DecodeLimits, Engine, EngineError, Progress, Stage, decode};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::credits::{self, Kind};
use crate::db::Db;
use crate::error::ApiError;
use crate::now_ms;
use crate::storage::Storage;
use crate::task_params::{TaskMode, TaskParams, parse_format};

/// Live state of running tasks, shared with the request handlers.
#[derive(Clone, Debug, Default)]
pub struct Handle {
    wake: Arc<Notify>,
    running: Arc<Mutex<HashMap<String, Arc<Live>>>>,
}

/// One running task's progress and cancel flag.
#[derive(Debug, Default)]
pub struct Live {
    /// Progress 0..1 as `f64` bits.
    progress: AtomicU64,
    cancel: AtomicBool,
}

impl Live {
    pub fn progress(&self) -> f64 {
        f64::from_bits(self.progress.load(Ordering::Relaxed))
    }
}

impl Handle {
    /// A task was queued: wake an idle worker.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// The progress of a running task, if this process runs it.
    pub fn progress(&self, task_id: &str) -> Option<f64> {
        self.lock().get(task_id).map(|live| live.progress())
    }

    /// Asks a running task to stop at its next stage boundary; false if it is not running here.
    pub fn cancel(&self, task_id: &str) -> bool {
        self.lock().get(task_id).map(|live| live.cancel.store(true, Ordering::Relaxed)).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Live>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The worker tasks.
#[derive(Debug)]
pub struct Pool {
    stop: watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Pool {
    pub fn start(
        count: usize,
        db: Db,
        storage: Arc<Storage>,
        engine: Arc<Engine>,
    ) -> (Self, Handle) {
        let handle = Handle::default();
        let (stop, stopped) = watch::channel(false);
        let workers = (0..count.max(1))
            .map(|_| {
                let worker = Worker {
                    db: db.clone(),
                    storage: storage.clone(),
                    engine: engine.clone(),
                    handle: handle.clone(),
                };
                let stopped = stopped.clone();
                tokio::spawn(worker.run(stopped))
            })
            .collect();
        (Self { stop, workers }, handle)
    }

    /// Stops claiming and waits for running tasks to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for worker in self.workers {
            let _ = worker.await;
        }
    }
}

/// Puts tasks left `running` by a process that died back in the queue.
pub async fn requeue_abandoned(db: &Db) -> anyhow::Result<u64> {
    let done =
        sqlx::query("UPDATE tasks SET status = 'queued', progress = 0 WHERE status = 'running'")
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected())
}

struct Worker {
    db: Db,
    storage: Arc<Storage>,
    engine: Arc<Engine>,
    handle: Handle,
}

/// A claimed task's row.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    user_id: String,
    mode: String,
    params: String,
    format: String,
    cost: i64,
    storage_key: String,
}

/// How a run ended, short of an internal error.
enum Outcome {
    Succeeded(serde_json::Value),
    Failed(String),
    Canceled,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                return;
            }
            match self.claim().await {
                Ok(Some(task)) => self.process(task).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.handle.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stopped.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = ?e, "claiming a task failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn claim(&self) -> anyhow::Result<Option<Claimed>> {
        let candidate: Option<String> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE status = 'queued' ORDER BY created_at, id LIMIT 1",
        )
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(id) = candidate else { return Ok(None) };
        let gate = self.db.write_gate().await;
        let claimed = sqlx::query(
            "UPDATE tasks SET status = 'running', started_at = $1, attempts = attempts + 1 \
             WHERE id = $2 AND status = 'queued'",
        )
        .bind(now_ms())
        .bind(&id)
        .execute(&self.db.pool)
        .await?;
        drop(gate);
        if claimed.rows_affected() != 1 {
            // Another worker took it; look again.
            return Box::pin(self.claim()).await;
        }
        let task = sqlx::query_as(
            "SELECT t.id, t.user_id, t.mode, t.params, t.format, t.cost, u.storage_key \
             FROM tasks t JOIN uploads u ON u.id = t.upload_id WHERE t.id = $1",
        )
        .bind(&id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(Some(task))
    }

    async fn process(&self, task: Claimed) {
        let live = Arc::new(Live::default());
        self.handle.lock().insert(task.id.clone(), live.clone());
        let outcome = self.execute(&task, live).await;
        self.handle.lock().remove(&task.id);
        let outcome = outcome.unwrap_or_else(|e| {
            tracing::error!(task = %task.id, error = ?e, "task failed internally");
            Outcome::Failed("an internal error stopped the task; it was not charged".into())
        });
        if let Err(e) = self.settle(&task, outcome).await {
            // The task stays `running`; the next start requeues it.
            tracing::error!(task = %task.id, error = ?e, "settling a task failed");
        }
    }

    async fn execute(&self, task: &Claimed, live: Arc<Live>) -> anyhow::Result<Outcome> {
        let bytes =
            self.storage.get(&task.storage_key).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mode: TaskMode = serde_json::from_value(json!(task.mode))?;
        let params: TaskParams = serde_json::from_str(&task.params)?;
        let format = parse_format(&task.format).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (params, solid) = params.build(mode, format).map_err(|e| anyhow::anyhow!("{e}"))?;
        let output_key = format!("outputs/{}.{}", task.id, format.extension());
        let output = self.storage.path(&output_key).map_err(|e| anyhow::anyhow!("{e}"))?;
        let engine = self.engine.clone();
        let progress = TaskProgress {
            live,
            stages: if solid.is_some() { 8.0 } else { 6.0 },
            done: AtomicU64::new(0),
        };
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, EngineError> {
            let image = decode::decode_bytes(&bytes, DecodeLimits::default())?;
            let report = match solid {
                Some(solid) => {
                    let mut times = Vec::new();
                    let mesh = engine.solid(&image, &params, &solid, &progress, &mut times)?;
                    let stats = engine.write_indexed(&mesh, format, &output, &progress, &mut times)?;
                    json!({ "triangles": stats.triangles, "bytes": stats.bytes, "vertices": mesh.positions.len(), "stages": stage_times(&times) })
                }
                None => {
                    let report = engine.convert_image(&image, &params, format, &output, &progress)?;
                    json!({ "triangles": report.triangles, "bytes": report.bytes, "grid": report.grid, "size_mm": report.size_mm, "stages": stage_times(&report.stages) })
                }
            };
            Ok(report)
        })
        .await?;
        Ok(match result {
            Ok(mut report) => {
                let seconds = started.elapsed().as_secs_f64().max(1e-9);
                if let Some(triangles) = report["triangles"].as_f64() {
                    metrics::histogram!("lithos_engine_triangles_per_second", "mode" => task.mode.clone())
                        .record(triangles / seconds);
                }
                if let Some([w, h]) =
                    report["grid"].as_array().map(|g| [g[0].as_f64(), g[1].as_f64()])
                {
                    let megapixels = w.unwrap_or(0.0) * h.unwrap_or(0.0) / 1e6;
                    metrics::histogram!("lithos_engine_megapixels_per_second", "mode" => task.mode.clone())
                        .record(megapixels / seconds);
                }
                report["format"] = json!(task.format);
                report["seconds"] = json!(started.elapsed().as_secs_f64());
                report["output_key"] = json!(output_key);
                Outcome::Succeeded(report)
            }
            Err(EngineError::Canceled) => Outcome::Canceled,
            Err(e) => Outcome::Failed(e.to_string()),
        })
    }

    async fn settle(&self, task: &Claimed, outcome: Outcome) -> Result<(), ApiError> {
        let _gate = self.db.write_gate().await;
        let mut tx = self.db.pool.begin().await?;
        let (status, error, result, output_key) = match &outcome {
            Outcome::Succeeded(report) => (
                "succeeded",
                None,
                Some(report.to_string()),
                report["output_key"].as_str().map(str::to_owned),
            ),
            Outcome::Failed(message) => ("failed", Some(message.clone()), None, None),
            Outcome::Canceled => ("canceled", None, None, None),
        };
        let moved = sqlx::query(
            "UPDATE tasks SET status = $1, error = $2, result = $3, output_key = $4, \
             progress = $5, finished_at = $6 WHERE id = $7 AND status = 'running'",
        )
        .bind(status)
        .bind(error)
        .bind(result)
        .bind(output_key)
        .bind(if status == "succeeded" { 1.0 } else { 0.0 })
        .bind(now_ms())
        .bind(&task.id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(());
        }
        let (kind, amount, reason) = match outcome {
            Outcome::Succeeded(_) => (Kind::Capture, 0, "task succeeded"),
            Outcome::Failed(_) => (Kind::Release, task.cost, "task failed"),
            Outcome::Canceled => (Kind::Release, task.cost, "task canceled"),
        };
        credits::post(&mut tx, &task.user_id, kind, amount, reason, Some(&task.id), None).await?;
        let outcome_label = match kind {
            Kind::Capture => "succeeded",
            _ if status == "canceled" => "canceled",
            _ => "failed",
        };
        metrics::counter!("lithos_tasks_finished_total", "mode" => task.mode.clone(), "outcome" => outcome_label).increment(1);
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
        tx.commit().await?;
        Ok(())
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
        self.live.cancel.load(Ordering::Relaxed)
    }
}
