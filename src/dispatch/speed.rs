//! The low-speed limit on response bodies (curl's `LOW_SPEED_LIMIT` / `LOW_SPEED_TIME`): a
//! body whose bytes arrive slower than the limit, on average over a window of the time spent
//! waiting for the server, fails. The read timeout catches a server that goes silent; this
//! one catches a server that trickles (a byte every few seconds keeps a read timeout happy
//! forever). Time a streamed body's reader holds the body back (buffer full) is not counted.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::LowSpeed;
use crate::error::{Error, ErrorKind, Result};

pub(crate) struct SpeedCheck {
    limit: LowSpeed,
    /// Bytes the current window needs.
    need: u64,
    /// Bytes received, and time spent waiting for the server, in the current window.
    got: u64,
    waited: Duration,
    /// When the current wait for the server began.
    since: Instant,
}

impl SpeedCheck {
    pub(crate) fn new(limit: LowSpeed, now: Instant) -> SpeedCheck {
        let need = (u128::from(limit.bytes_per_sec) * limit.time.as_millis() / 1000) as u64;
        SpeedCheck {
            limit,
            need: need.max(1),
            got: 0,
            waited: Duration::ZERO,
            since: now,
        }
    }

    /// A wait for the server begins at `now` (time since the last arrival was not spent
    /// waiting); returns the window's end, as `deadline`.
    pub(crate) fn waiting(&mut self, now: Instant) -> Instant {
        self.since = now;
        self.deadline()
    }

    /// When the window ends if nothing arrives (for a timer).
    pub(crate) fn deadline(&self) -> Instant {
        self.since + self.limit.time.saturating_sub(self.waited)
    }

    /// `n` bytes arrived at `now` (0: the window's timer fired): fails when a window has
    /// ended with fewer bytes than the limit asks for; a window that ended with enough
    /// starts the next.
    pub(crate) fn arrived(&mut self, n: usize, now: Instant) -> Result<()> {
        self.waited += now.saturating_duration_since(self.since);
        self.since = now;
        self.got += n as u64;
        if self.waited < self.limit.time {
            return Ok(());
        }
        if self.got < self.need {
            let rate = self.got as f64 / self.waited.as_secs_f64();
            return Err(Error::new(
                ErrorKind::ReadTimeout,
                format!(
                    "the response body arrived at {rate:.0} bytes/s over {:?}, under the low-speed limit of {} bytes/s",
                    self.waited, self.limit.bytes_per_sec
                ),
            ));
        }
        self.got = 0;
        self.waited = Duration::ZERO;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes_per_sec: u64, ms: u64) -> (SpeedCheck, Instant) {
        let now = Instant::now();
        let limit = LowSpeed {
            bytes_per_sec,
            time: Duration::from_millis(ms),
        };
        (SpeedCheck::new(limit, now), now)
    }

    #[test]
    fn a_trickle_fails_at_the_end_of_its_window() {
        let (mut c, t0) = check(100, 1000); // 100 bytes a second
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(c.waiting(t0), ms(1000));
        for i in 1..10 {
            assert!(c.arrived(5, ms(i * 100)).is_ok(), "inside the window");
        }
        let err = c.arrived(5, ms(1000)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ReadTimeout);
        assert!(err.message().contains("50 bytes/s"), "{}", err.message());
    }

    #[test]
    fn enough_bytes_start_the_next_window_and_silence_fails_on_the_timer() {
        let (mut c, t0) = check(100, 1000);
        let ms = |n| t0 + Duration::from_millis(n);
        c.waiting(t0);
        assert!(c.arrived(100, ms(500)).is_ok());
        assert!(
            c.arrived(0, ms(1000)).is_ok(),
            "100 bytes in the first second"
        );
        // The next window: nothing arrives; the timer fires at its end.
        assert_eq!(c.waiting(ms(1000)), ms(2000));
        assert!(c.arrived(0, ms(2000)).is_err());
    }

    #[test]
    fn time_not_spent_waiting_is_not_counted() {
        let (mut c, t0) = check(100, 1000);
        let ms = |n| t0 + Duration::from_millis(n);
        c.waiting(t0);
        assert!(c.arrived(10, ms(400)).is_ok());
        // The reader held the body back from 400 to 5400 ms; then the wait resumes.
        assert_eq!(c.waiting(ms(5400)), ms(6000));
        assert!(c.arrived(90, ms(5900)).is_ok());
        assert!(
            c.arrived(0, ms(6000)).is_ok(),
            "100 bytes in 1 s of waiting"
        );
    }
}
