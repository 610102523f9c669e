//! The clock the engine reads (design §7): injected, so evaluation, acks and deploy timing are
//! tested by setting the time instead of sleeping for it.

use crate::model::Millis;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
}

/// What the engine and its sources hold.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        wall_ms()
    }
}

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// The wall clock, for code that is handed no clock (source tasks stamping what they fetched).
pub fn wall_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

/// A clock tests move by hand; clones share one time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(t: Millis) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(t)))
    }

    pub fn set(&self, t: Millis) {
        self.0.store(t, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_one_time() {
        let c = ManualClock::at(1_000);
        let shared = c.shared();
        c.advance(500);
        assert_eq!(shared.now(), 1_500);
        c.set(7);
        assert_eq!(shared.now(), 7);
        assert!(SystemClock.now() > 1_600_000_000_000);
    }
}
