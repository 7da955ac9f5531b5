//! The part buffers of every upload to a store share one budget of bytes,
//! so memory for uploads stays bounded however many run at once: an upload
//! waits for room instead of allocating past the budget.
//!
//! A buffer is reserved whole (one part) before it is allocated, and given
//! back when its part has been sent. No upload waits while it holds a buffer
//! it is still filling, so uploads cannot wait on each other in a circle:
//! what is held while waiting is parts on the wire, which finish by
//! themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use graphfs_domain::{Error, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reservations are counted in these units (the semaphore counts `u32`s).
const UNIT: usize = 64 << 10;

#[derive(Clone)]
pub struct BufferBudget {
    permits: Arc<Semaphore>,
    units: usize,
    /// The most bytes ever reserved at once, for tests and metrics.
    peak: Arc<AtomicUsize>,
}

/// Room for one buffer; given back when dropped.
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
}

impl BufferBudget {
    /// A budget of `bytes` (at least `min_bytes`, so the largest single
    /// reservation always fits).
    pub fn new(bytes: usize, min_bytes: usize) -> Self {
        let units = bytes
            .max(min_bytes)
            .div_ceil(UNIT)
            .clamp(1, u32::MAX as usize);
        BufferBudget {
            permits: Arc::new(Semaphore::new(units)),
            units,
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Waits until `bytes` fit in the budget, and holds them.
    pub async fn reserve(&self, bytes: usize) -> Result<Reservation> {
        let want = bytes.div_ceil(UNIT).clamp(1, self.units) as u32;
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| Error::internal("upload buffer budget closed"))?;
        let in_use = (self.units - self.permits.available_permits()) * UNIT;
        self.peak.fetch_max(in_use, Ordering::Relaxed);
        Ok(Reservation { _permit: permit })
    }

    /// Holds `bytes` if they fit now (and within the budget at all);
    /// `None` otherwise, without waiting.
    pub fn try_reserve(&self, bytes: usize) -> Option<Reservation> {
        let want = u32::try_from(bytes.div_ceil(UNIT).max(1)).ok()?;
        if want as usize > self.units {
            return None;
        }
        let permit = self.permits.clone().try_acquire_many_owned(want).ok()?;
        let in_use = (self.units - self.permits.available_permits()) * UNIT;
        self.peak.fetch_max(in_use, Ordering::Relaxed);
        Some(Reservation { _permit: permit })
    }

    /// The budget, in bytes.
    pub fn bytes(&self) -> usize {
        self.units * UNIT
    }

    /// The most bytes reserved at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        (self.units - self.permits.available_permits()) * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_try_takes_room_only_when_it_is_there() {
        let budget = BufferBudget::new(3 * UNIT, UNIT);
        let a = budget.try_reserve(2 * UNIT).expect("room for two");
        assert!(budget.try_reserve(2 * UNIT).is_none(), "only one unit left");
        let b = budget.try_reserve(UNIT).expect("room for one");
        assert_eq!(budget.in_use(), 3 * UNIT);
        drop(a);
        assert_eq!(budget.in_use(), UNIT);
        // More than the whole budget never fits.
        assert!(budget.try_reserve(4 * UNIT).is_none());
        drop(b);
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 3 * UNIT);
    }

    #[tokio::test]
    async fn reservations_wait_for_room_and_give_it_back() {
        let budget = BufferBudget::new(3 * UNIT, UNIT);
        let a = budget.reserve(2 * UNIT).await.unwrap();
        let b = budget.reserve(UNIT).await.unwrap();
        assert_eq!(budget.in_use(), 3 * UNIT);
        // A third does not fit until one is given back.
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(2 * UNIT).await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(a);
        waiting.await.unwrap().unwrap();
        drop(b);
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 3 * UNIT);
        // More than the whole budget is cut to it rather than never fitting.
        budget.reserve(100 * UNIT).await.unwrap();
        // A budget smaller than one buffer grows to hold one.
        assert_eq!(BufferBudget::new(1, 5 * UNIT).bytes(), 5 * UNIT);
    }
}
