//! The process-wide memory budget for decoding images, and the per-user cap on uploads in
//! progress.
//!
//! Every decode reserves its cost, read from the image's header, before it starts. An upload
//! that finds the budget full waits a moment, then gets 503 with `Retry-After`; a worker
//! waits as long as it takes. A reservation larger than the whole budget takes all of it, so
//! it runs alone rather than never.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reservations are counted in whole mebibytes.
const UNIT: u64 = 1 << 20;

#[derive(Clone, Debug)]
pub struct DecodeBudget {
    units: Arc<Semaphore>,
    total_units: u32,
}

/// Memory held for one decode until it is dropped.
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
}

impl DecodeBudget {
    pub fn new(bytes: u64) -> Self {
        let total_units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX >> 3);
        Self { units: Arc::new(Semaphore::new(total_units as usize)), total_units }
    }

    fn units(&self, bytes: u64) -> u32 {
        u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX).min(self.total_units)
    }

    /// Reserves `bytes`, waiting at most `wait`; `None` when the budget stayed full.
    pub async fn try_reserve(&self, bytes: u64, wait: Duration) -> Option<Reservation> {
        let units = self.units(bytes);
        let acquire = self.units.clone().acquire_many_owned(units);
        match tokio::time::timeout(wait, acquire).await {
            Ok(permit) => Some(Reservation { _permit: permit.expect("never closed") }),
            Err(_) => None,
        }
    }

    /// Reserves `bytes`, waiting as long as it takes.
    pub async fn reserve(&self, bytes: u64) -> Reservation {
        let units = self.units(bytes);
        let permit = self.units.clone().acquire_many_owned(units).await.expect("never closed");
        Reservation { _permit: permit }
    }

    /// Bytes not reserved now.
    pub fn available_bytes(&self) -> u64 {
        self.units.available_permits() as u64 * UNIT
    }
}

/// Uploads each user has in progress.
#[derive(Clone, Debug, Default)]
pub struct UploadSlots {
    busy: Arc<Mutex<HashMap<String, usize>>>,
}

/// One upload in progress; the slot frees when it is dropped.
#[derive(Debug)]
pub struct UploadSlot {
    slots: UploadSlots,
    user_id: String,
}

impl UploadSlots {
    /// Takes one of `user_id`'s `limit` slots, or `None` when all are taken.
    pub fn take(&self, user_id: &str, limit: usize) -> Option<UploadSlot> {
        let mut busy = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = busy.entry(user_id.to_owned()).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(UploadSlot { slots: self.clone(), user_id: user_id.to_owned() })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut busy = self.slots.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = busy.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                busy.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_budget_refuses_after_the_wait_and_frees_on_drop() {
        let budget = DecodeBudget::new(10 * UNIT);
        let big = budget.try_reserve(8 * UNIT, Duration::ZERO).await.expect("fits");
        assert_eq!(budget.available_bytes(), 2 * UNIT);
        assert!(budget.try_reserve(4 * UNIT, Duration::from_millis(20)).await.is_none());
        drop(big);
        let all = budget.try_reserve(1 << 40, Duration::ZERO).await.expect("clamped to all");
        assert_eq!(budget.available_bytes(), 0);
        drop(all);
        assert_eq!(budget.available_bytes(), 10 * UNIT);
    }

    #[test]
    fn upload_slots_are_per_user_and_free_on_drop() {
        let slots = UploadSlots::default();
        let a = slots.take("a", 2).unwrap();
        let _b = slots.take("a", 2).unwrap();
        assert!(slots.take("a", 2).is_none());
        assert!(slots.take("b", 2).is_some(), "another user has their own");
        drop(a);
        assert!(slots.take("a", 2).is_some());
    }
}
