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

use crate::ids::{TaskId, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lithos_engine::Engine;
use tokio::sync::{Notify, watch};

use crate::db::Kind as DbKind;
use crate::decode_budget::DecodeBudget;
use crate::generation::Generator;
use crate::storage::Storage;
use crate::tasks::queue::{Lease, Queue};
use crate::{new_id, now_ms};

mod generate;
mod registry;
mod run;
mod settle;

use registry::{keep_registered, listen, register};

/// Live state of the jobs this process runs, shared with the request handlers.
#[derive(Clone, Debug, Default)]
pub struct Handle {
    wake: Arc<Notify>,
    running: Arc<Mutex<HashMap<TaskId, Arc<Live>>>>,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, Arc<Live>>> {
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
    /// The AI generation provider prompt jobs go to (a prompt job fails without one).
    pub generator: Option<Arc<Generator>>,
    /// The largest model a provider may return: the largest upload.
    pub max_model_bytes: u64,
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
            // Checked by `Config::validate` before any pool starts.
            generator: config.generation().ok().flatten().map(|g| Arc::new(Generator::new(g))),
            max_model_bytes: config.max_upload_bytes,
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
                    generator: options.generator.clone(),
                    max_model_bytes: options.max_model_bytes,
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

struct Slot {
    worker_id: String,
    queue: Queue,
    storage: Arc<Storage>,
    engine: Arc<Engine>,
    handle: Handle,
    time_limits: TimeLimits,
    decode_budget: DecodeBudget,
    generator: Option<Arc<Generator>>,
    max_model_bytes: u64,
}

/// A claimed job's task row.
#[derive(sqlx::FromRow)]
struct Task {
    id: TaskId,
    user_id: UserId,
    mode: String,
    params: String,
    format: String,
    cost: i64,
    cancel_requested: i64,
    /// None for text in the bundled font, which reads no upload.
    storage_key: Option<String>,
    plan: String,
    /// The upload's description, for a volume.
    volume: Option<String>,
    /// A prompt's task at its provider, once created: a later attempt follows it instead of
    /// paying for another.
    generation: Option<String>,
}

/// What a task's run produced, as stored and returned: the engine's report (its stages
/// including the service's `fetch`, `decode` and `store`, its seconds the whole run) and the
/// attempt that made it.
#[derive(Debug, serde::Serialize)]
struct TaskReport {
    #[serde(flatten)]
    engine: lithos_engine::Report,
    attempt: i64,
    /// The pictures stored beside the output (`GET /tasks/{id}/pictures/{picture}`).
    pictures: Vec<crate::tasks::pictures::Picture>,
}

/// How a run ended.
enum Outcome {
    Succeeded {
        report: Box<TaskReport>,
        output_key: String,
    },
    /// The input or parameters are at fault: retrying would fail the same way.
    Failed(String),
    /// Storage or the database failed: worth another attempt.
    Transient(String),
    Canceled,
}
