//! A prompt job's first stage: its model, from the AI generation provider. The provider's task
//! is created once (its id kept on the task, so a later attempt follows it instead of paying
//! for another), followed into the first half of the task's progress, and its GLB downloaded
//! as soon as it is done, before its link expires. The engine then repairs it as a 3D file.

use std::sync::atomic::Ordering;

use lithos_engine::model::Prompt;

use super::{Live, Outcome, Slot, Task};
use crate::generation::{Failure, Watcher};

/// The share of a prompt task's progress its generation takes; the engine's stages share the
/// rest.
pub(super) const GENERATION_SHARE: f64 = 0.5;

impl Slot {
    /// The generated model's bytes, or the outcome that ends the task.
    pub(super) async fn generate(
        &self,
        task: &Task,
        prompt: &Prompt,
        live: &Live,
    ) -> Result<Vec<u8>, Outcome> {
        let outcome = |failure: Failure| match failure {
            Failure::Transient(message) => Outcome::Transient(message),
            Failure::Failed(message) => {
                Outcome::Failed(format!("{message}. The task was not charged"))
            }
            Failure::Canceled => Outcome::Canceled,
        };
        let Some(generator) = &self.generator else {
            return Err(outcome(Failure::Failed(
                "this Lithos has no AI generation provider configured, so prompts cannot run"
                    .into(),
            )));
        };
        let id = match &task.generation {
            Some(id) => id.clone(),
            None => {
                let id = generator.create(prompt).await.map_err(|e| outcome(e.into()))?;
                self.queue
                    .record_generation(&task.id, &id)
                    .await
                    .map_err(|e| Outcome::Transient(format!("recording the generation: {e}")))?;
                id
            }
        };
        generator.follow(&id, self.max_model_bytes, live).await.map_err(outcome)
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
