//! When a failed attempt is tried again, and after how long.
//!
//! Retried: failures to connect (nothing was sent, so any method), a connection that failed
//! before any response byte, and the chosen statuses (429, 502, 503, 504 by default); the
//! last two only for idempotent methods (RFC 9110 §9.2.2) unless the policy allows others.
//! The wait is exponential backoff with jitter (half fixed, half random), capped, or what
//! the response's `Retry-After` asks (seconds or an HTTP date); a `Retry-After` beyond the
//! cap ends the retries with that response. The caller keeps every attempt inside the
//! request's total timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http::HeaderValue;

pub use crate::config::RetryPolicy;
use crate::error::{Error, ErrorKind};

/// How an attempt ended, as far as retrying is concerned.
pub enum Attempt<'a> {
    /// A response with this status and `Retry-After`, if any.
    Status(u16, Option<&'a HeaderValue>),
    Failed(&'a Error),
}

/// The wait before the next attempt, or None to stop. `done` is the retries made so far.
pub fn next_wait(
    p: &RetryPolicy,
    done: u32,
    idempotent: bool,
    attempt: Attempt<'_>,
) -> Option<Duration> {
    if done >= p.max_retries {
        return None;
    }
    let may_resend = idempotent || p.non_idempotent;
    let retry_after = match attempt {
        Attempt::Status(status, retry_after) => {
            if !may_resend || !p.statuses.contains(&status) {
                return None;
            }
            retry_after
        }
        Attempt::Failed(e) => {
            let nothing_sent = matches!(
                e.kind(),
                ErrorKind::Connect | ErrorKind::ConnectRefused | ErrorKind::ConnectTimeout
            );
            if !(nothing_sent || may_resend && e.is_unanswered()) {
                return None;
            }
            None
        }
    };
    if let Some(asked) = retry_after.and_then(|v| retry_after_delay(v, SystemTime::now())) {
        return (asked <= p.backoff_max).then_some(asked);
    }
    let full = p
        .backoff
        .saturating_mul(1u32 << done.min(20))
        .min(p.backoff_max);
    // Equal jitter: half the wait fixed, half random, so concurrent clients spread out.
    let half = full / 2;
    Some(half + half.mul_f64(jitter()))
}

/// What a `Retry-After` value asks for: delay-seconds or an HTTP date (RFC 9110 §10.2.3);
/// None when it is neither.
pub fn retry_after_delay(v: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = v.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A number in [0, 1): splitmix64 over a counter seeded from the clock. Jitter needs spread,
/// not secrecy.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = STATE
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(n: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries: n,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn off_by_default_and_stops_after_the_maximum() {
        let e = Error::new(ErrorKind::ConnectRefused, "x");
        assert!(next_wait(&RetryPolicy::default(), 0, true, Attempt::Failed(&e)).is_none());
        let p = on(2);
        assert!(next_wait(&p, 0, true, Attempt::Failed(&e)).is_some());
        assert!(next_wait(&p, 1, true, Attempt::Failed(&e)).is_some());
        assert!(next_wait(&p, 2, true, Attempt::Failed(&e)).is_none());
    }

    #[test]
    fn what_is_retried_for_which_methods() {
        let p = on(3);
        let refused = Error::new(ErrorKind::ConnectRefused, "x");
        let reset = Error::new(ErrorKind::Io, "x").unanswered();
        let mid_body = Error::new(ErrorKind::Io, "x");
        let timeout = Error::new(ErrorKind::Timeout, "x");
        // Nothing sent: any method.
        assert!(next_wait(&p, 0, false, Attempt::Failed(&refused)).is_some());
        // Reset before an answer: idempotent only, unless allowed.
        assert!(next_wait(&p, 0, true, Attempt::Failed(&reset)).is_some());
        assert!(next_wait(&p, 0, false, Attempt::Failed(&reset)).is_none());
        let post_ok = RetryPolicy {
            non_idempotent: true,
            ..on(3)
        };
        assert!(next_wait(&post_ok, 0, false, Attempt::Failed(&reset)).is_some());
        // A response was under way, or the total timeout: never.
        assert!(next_wait(&p, 0, true, Attempt::Failed(&mid_body)).is_none());
        assert!(next_wait(&p, 0, true, Attempt::Failed(&timeout)).is_none());
        // Statuses.
        assert!(next_wait(&p, 0, true, Attempt::Status(503, None)).is_some());
        assert!(next_wait(&p, 0, true, Attempt::Status(500, None)).is_none());
        assert!(next_wait(&p, 0, true, Attempt::Status(200, None)).is_none());
        assert!(next_wait(&p, 0, false, Attempt::Status(503, None)).is_none());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(500),
            ..on(10)
        };
        let e = Error::new(ErrorKind::ConnectRefused, "x");
        for (done, full) in [(0, 100), (1, 200), (2, 400), (3, 500), (9, 500)] {
            for _ in 0..50 {
                let w = next_wait(&p, done, true, Attempt::Failed(&e)).unwrap();
                let full = Duration::from_millis(full);
                assert!(w >= full / 2 && w <= full, "retry {done}: {w:?}");
            }
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_and_past_the_cap_stops() {
        let p = on(3);
        let secs = HeaderValue::from_static("2");
        assert_eq!(
            next_wait(&p, 0, true, Attempt::Status(503, Some(&secs))),
            Some(Duration::from_secs(2))
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let date = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:03 GMT");
        assert_eq!(retry_after_delay(&date, now), Some(Duration::from_secs(3)));
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:27:00 GMT");
        assert_eq!(retry_after_delay(&past, now), Some(Duration::ZERO));
        assert_eq!(
            retry_after_delay(&HeaderValue::from_static("soon"), now),
            None
        );
        let long = HeaderValue::from_static("3600");
        assert!(next_wait(&p, 0, true, Attempt::Status(503, Some(&long))).is_none());
        // Unparseable: backoff instead.
        let junk = HeaderValue::from_static("soon");
        assert!(next_wait(&p, 0, true, Attempt::Status(503, Some(&junk))).is_some());
    }
}
