//! One clock for every process of a run, and the `--time-scale` that shortens every sleep.
//!
//! `CLOCK_MONOTONIC` is system-wide on Linux (clock_gettime(2)): a reading taken in the main
//! and one taken in a child are on the same axis. The main reads it once when the scenario
//! starts and hands the number to each child, so every `t_ms` counts from the same instant.

use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

/// The instant a run started, on `CLOCK_MONOTONIC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    epoch_ns: u64,
}

fn monotonic_ns() -> u64 {
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC always exists");
    now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64
}

impl Clock {
    /// Start the run's clock now.
    pub fn start() -> Clock {
        Clock {
            epoch_ns: monotonic_ns(),
        }
    }

    /// The clock a parent started, as passed to a child.
    pub fn from_epoch_ns(epoch_ns: u64) -> Clock {
        Clock { epoch_ns }
    }

    pub fn epoch_ns(self) -> u64 {
        self.epoch_ns
    }

    /// Milliseconds since the run started, to the microsecond.
    pub fn elapsed_ms(self) -> f64 {
        let ns = monotonic_ns().saturating_sub(self.epoch_ns);
        (ns / 1_000) as f64 / 1_000.0
    }
}

/// `--time-scale F`: every sleep of a scenario is multiplied by F; 0 means no sleep at all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    pub const MAX: f64 = 1000.0;

    /// Accepts a finite F with 0 <= F <= 1000.
    pub fn new(factor: f64) -> Option<TimeScale> {
        (factor.is_finite() && (0.0..=Self::MAX).contains(&factor)).then_some(TimeScale(factor))
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    /// The tutorial's `seconds`, scaled; `None` when there is nothing to wait for.
    pub fn of(self, seconds: f64) -> Option<Duration> {
        let scaled = seconds * self.0;
        (scaled > 0.0).then(|| Duration::from_secs_f64(scaled))
    }

    /// Sleep the tutorial's `seconds`, scaled. With a scale of 0 no system call is made.
    /// Only children sleep like this; the main waits in `Supervisor::sleep`, which stays
    /// responsive to signals and to children ending.
    pub fn sleep(self, seconds: f64) {
        if let Some(d) = self.of(seconds) {
            std::thread::sleep(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_bounds() {
        for ok in [0.0, 1000.0, 0.05] {
            assert!(TimeScale::new(ok).is_some());
        }
        for bad in [-0.1, 1000.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(TimeScale::new(bad).is_none(), "{bad} accepted");
        }
    }

    #[test]
    fn zero_scale_never_sleeps() {
        let zero = TimeScale::new(0.0).unwrap();
        assert_eq!(zero.of(3.0), None);
        let half = TimeScale::new(0.5).unwrap();
        assert_eq!(half.of(3.0), Some(Duration::from_millis(1500)));
        assert_eq!(half.of(0.0), None);
    }

    #[test]
    fn clock_is_shared_through_its_epoch() {
        let a = Clock::start();
        let b = Clock::from_epoch_ns(a.epoch_ns());
        assert_eq!(a, b);
        assert!(b.elapsed_ms() >= 0.0);
    }
}
