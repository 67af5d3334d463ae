//! Login lockout per e-mail address: after `failures` failed logins within `WINDOW`, every login
//! for the address is refused until `LOCK` after the failure that locked it. Counted per address
//! text, whether an account holds it or not, so a lock never tells which addresses exist.

use chrono::{DateTime, Duration, Utc};

/// Failures count within this long of each other.
pub const WINDOW: Duration = Duration::minutes(15);
/// How long a lock holds, from the failure that set it.
pub const LOCK: Duration = Duration::minutes(15);
/// Failed logins within `WINDOW` that lock an address, unless configured.
pub const DEFAULT_FAILURES: u32 = 5;

/// How many failures lock an address (`LOGIN_LOCKOUT_FAILURES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub failures: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            failures: DEFAULT_FAILURES,
        }
    }
}

/// One address's recent failures and its lock, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginFailures {
    /// The failures within the window before the latest, oldest first (fewer than the policy's
    /// count: the one that reaches it locks and clears them).
    pub recent: Vec<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    /// This failure locked the address (once per lock: its notice is sent for this one).
    Locked {
        until: DateTime<Utc>,
    },
    /// The address was locked already: the attempt neither counts nor extends the lock.
    AlreadyLocked,
}

impl LoginFailures {
    /// When the lock lifts, if the address is locked at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// Counts a failed login at `now`.
    pub fn record(&mut self, now: DateTime<Utc>, policy: LockoutPolicy) -> Recorded {
        if self.locked_at(now).is_some() {
            return Recorded::AlreadyLocked;
        }
        self.recent.retain(|at| now - *at < WINDOW);
        self.recent.push(now);
        if self.recent.len() < policy.failures as usize {
            return Recorded::Counted;
        }
        let until = now + LOCK;
        self.recent.clear();
        self.locked_until = Some(until);
        Recorded::Locked { until }
    }

    /// After this the record means nothing (no failure in the window, no lock): the store may
    /// forget it.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let last = self.recent.last().map(|at| *at + WINDOW);
        last.max(self.locked_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: LockoutPolicy = LockoutPolicy { failures: 5 };

    #[test]
    fn the_fifth_failure_within_the_window_locks_once_and_only_for_the_lock() {
        let t0 = Utc::now();
        let minutes = |m: i64| t0 + Duration::minutes(m);
        let mut record = LoginFailures::default();
        for m in 0..4 {
            assert_eq!(record.record(minutes(m), FIVE), Recorded::Counted);
            assert_eq!(record.locked_at(minutes(m)), None);
        }
        let until = minutes(4) + LOCK;
        assert_eq!(record.record(minutes(4), FIVE), Recorded::Locked { until });
        assert_eq!(record.locked_at(minutes(5)), Some(until));
        // Attempts while locked neither count nor extend it.
        assert_eq!(record.record(minutes(10), FIVE), Recorded::AlreadyLocked);
        assert_eq!(record.locked_at(minutes(18)), Some(until));
        assert_eq!(record.locked_at(until), None, "lifted at its end");
        // After the lock, counting starts again.
        assert_eq!(record.record(minutes(20), FIVE), Recorded::Counted);
        assert_eq!(record.locked_at(minutes(20)), None);
    }

    #[test]
    fn failures_further_apart_than_the_window_do_not_add_up() {
        let t0 = Utc::now();
        let mut record = LoginFailures::default();
        // One every 4 minutes: never five within 15 minutes... until they are.
        for i in 0..4 {
            let at = t0 + Duration::minutes(4 * i);
            assert_eq!(record.record(at, FIVE), Recorded::Counted, "{i}");
        }
        // 16 min: the one at 0 is out of the window (4, 8, 12, 16 remain).
        assert_eq!(
            record.record(t0 + Duration::minutes(16), FIVE),
            Recorded::Counted
        );
        assert_eq!(record.recent.len(), 4);
        // 17 min: 4, 8, 12, 16, 17 are five within 15 minutes.
        assert!(matches!(
            record.record(t0 + Duration::minutes(17), FIVE),
            Recorded::Locked { .. }
        ));
        assert_eq!(record.expires_at(), Some(t0 + Duration::minutes(17) + LOCK));
    }
}
