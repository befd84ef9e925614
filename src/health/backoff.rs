//! When to probe a cluster next.
//!
//! A healthy cluster is probed every `interval`; a failing one backs off exponentially so a
//! dead cluster (or a fleet of them during a network partition) does not cost a connection
//! attempt per interval each. Jitter is applied always, including to healthy clusters, so
//! thousands of probes started together (at server start) spread out instead of arriving at
//! kcp's and the clusters' doors in lockstep. The random draw is an argument, which keeps
//! this a pure function the tests can pin.

use std::time::Duration;

/// Fraction of the delay the jitter may add or remove.
const JITTER: f64 = 0.2;

/// Delay before the next probe: `interval` when healthy; exponential backoff from `interval`
/// doubling per consecutive failure up to `max`, with ±20% jitter drawn from `jitter` in
/// [0,1).
///
/// `interval * 2^consecutive_failures`, capped at `max` (or at `interval` if `max` is
/// smaller, so a misconfigured cap never makes a failing cluster probed *more* often), then
/// scaled by `0.8 + 0.4 * jitter`. A `jitter` outside [0,1) is clamped and a NaN counts as
/// 0.5 (no jitter), so a bad random source cannot stop or storm the prober. Non-decreasing
/// in `consecutive_failures` for a fixed `jitter`.
pub fn next_probe_delay(
    interval: Duration,
    max: Duration,
    consecutive_failures: u32,
    jitter: f64,
) -> Duration {
    let cap = max.max(interval);
    let mut base = interval;
    for _ in 0..consecutive_failures {
        if base.is_zero() || base >= cap {
            break;
        }
        base = base.saturating_mul(2);
    }
    let base = base.min(cap);

    let jitter = if jitter.is_nan() {
        0.5
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let factor = 1.0 - JITTER + 2.0 * JITTER * jitter;
    Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn healthy_cluster_is_probed_every_interval() {
        assert_eq!(next_probe_delay(S(10), S(300), 0, 0.5), S(10));
        assert_eq!(next_probe_delay(S(10), S(300), 0, 0.0), S(8));
        assert!(next_probe_delay(S(10), S(300), 0, 0.999_999) < S(12));
    }

    #[test]
    fn failures_double_up_to_the_cap() {
        let delays: Vec<_> = (0..8).map(|n| next_probe_delay(S(10), S(300), n, 0.5)).collect();
        assert_eq!(
            delays,
            [S(10), S(20), S(40), S(80), S(160), S(300), S(300), S(300)]
        );
        assert_eq!(next_probe_delay(S(10), S(300), u32::MAX, 0.5), S(300));
        assert_eq!(next_probe_delay(S(10), S(300), u32::MAX, 0.0), S(240));
    }

    #[test]
    fn degenerate_inputs_do_not_panic_or_storm() {
        assert_eq!(
            next_probe_delay(Duration::ZERO, S(300), u32::MAX, 0.5),
            Duration::ZERO
        );
        // A cap below the interval keeps the interval.
        assert_eq!(next_probe_delay(S(10), S(1), 5, 0.5), S(10));
        assert_eq!(next_probe_delay(S(10), S(300), 0, f64::NAN), S(10));
        assert_eq!(next_probe_delay(S(10), S(300), 0, -3.0), S(8));
        assert_eq!(next_probe_delay(S(10), S(300), 0, f64::INFINITY), S(12));
        assert_eq!(
            next_probe_delay(Duration::MAX, Duration::MAX, 3, 0.99),
            Duration::MAX
        );
    }
}
