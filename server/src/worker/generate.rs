//! A generated job's first stage: its model, from the AI generation provider, made of the
//! task's prompt or of its uploaded photo. The provider's task is created once (its id kept on
//! the task, so a later attempt follows it instead of paying for another), followed into the
//! first half of the task's progress, and its GLB downloaded as soon as it is done, before its
//! link expires. The engine then repairs it as a 3D file.

use std::sync::atomic::Ordering;

use lithos_engine::{Job, JobKind};

use super::{Live, Outcome, Slot, Task};
use crate::generation::{Failure, Kind, Photo, Subject, Watcher};
use crate::storage::StorageError;

/// The share of a generated task's progress its generation takes; the engine's stages share
/// the rest.
pub(super) const GENERATION_SHARE: f64 = 0.5;

impl Slot {
    /// The generated model's bytes, or the outcome that ends the task.
    pub(super) async fn generate(
        &self,
        task: &Task,
        job: &Job,
        live: &Live,
    ) -> Result<Vec<u8>, Outcome> {
        let outcome = |failure: Failure| match failure {
            Failure::Transient(message) => Outcome::Transient(message),
            Failure::Failed(message) => {
                Outcome::Failed(format!("{message}. The task was not charged"))
            }
            Failure::Canceled => Outcome::Canceled,
        };
        let (Some(generator), Some(kind)) = (&self.generator, Kind::of(job.mode())) else {
            return Err(outcome(Failure::Failed(format!(
                "this Lithos has no AI generation provider configured, so {} tasks cannot run",
                job.mode()
            ))));
        };
        let id = match &task.generation {
            Some(id) => id.clone(),
            None => {
                let created = match &job.kind {
                    JobKind::Prompt(params) => {
                        generator.create(Subject::Prompt(&params.prompt)).await
                    }
                    _ => generator.create(Subject::Photo(&self.photo(task).await?)).await,
                };
                let id = created.map_err(|e| outcome(e.into()))?;
                self.queue
                    .record_generation(&task.id, &id)
                    .await
                    .map_err(|e| Outcome::Transient(format!("recording the generation: {e}")))?;
                id
            }
        };
        generator.follow(kind, &id, self.max_model_bytes, live).await.map_err(outcome)
    }

    /// The task's uploaded photo, as the providers take it.
    async fn photo(&self, task: &Task) -> Result<Photo, Outcome> {
        let Some(key) = &task.storage_key else {
            return Err(Outcome::Failed("the task has no photo; upload one".into()));
        };
        let bytes = match self.storage.get(key).await {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound(_)) => {
                return Err(Outcome::Failed(
                    "the uploaded photo is no longer stored; upload it again. The task was not \
                     charged"
                        .into(),
                ));
            }
            Err(e) => return Err(super::run::storage_outcome(e)),
        };
        let prepared = tokio::task::spawn_blocking(move || Photo::prepare(&bytes)).await;
        match prepared {
            Ok(Ok(photo)) => Ok(photo),
            Ok(Err(message)) => {
                Err(Outcome::Failed(format!("{message}. The task was not charged")))
            }
            Err(e) => Err(Outcome::Transient(format!("preparing the photo: {e}"))),
        }
    }
}

/// A running task follows its generation: the first half of its progress, and its cancel.
impl Watcher for Live {
    fn progress(&self, fraction: f64) {
        let share = fraction * GENERATION_SHARE * 0.99;
        self.progress.store(share.to_bits(), Ordering::Relaxed);
    }

    fn stopped(&self) -> Option<Failure> {
        if self.cancel.load(Ordering::Relaxed) {
            return Some(Failure::Canceled);
        }
        // The lease is gone: another attempt owns the task, and nothing here is kept.
        self.lost.load(Ordering::Relaxed).then(|| Failure::Transient("the lease was lost".into()))
    }
}
