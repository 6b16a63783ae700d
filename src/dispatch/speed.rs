//! The timers on a response body. The read timeout catches a server that goes silent; the
//! low-speed limit (curl's `LOW_SPEED_LIMIT` / `LOW_SPEED_TIME`) one that trickles (a byte
//! every few seconds keeps a read timeout happy forever): a body whose bytes arrive slower
//! than the limit, on average over a window of the time spent waiting for the server, fails.
//! Time a streamed body's reader holds the body back (buffer full) counts for neither.
//!
//! The low-speed limit applies to a request body too, as curl's does to uploads
//! ([`measure`]): one that the server takes slower than the limit, over a window of the time
//! the body had bytes ready for it, fails with `ErrorKind::WriteTimeout`. It bounds the wait
//! for the response head as well: a server silent for the limit's time once the request has
//! gone is a speed of 0 (`slow_head_error`). The rate caps on either body ([`Pace`],
//! [`throttle`]) also live here.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as _, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::config::LowSpeed;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{hint_with_held, Body, Traffic, Watch};

pub(crate) struct SpeedCheck {
    limit: LowSpeed,
    /// It measures a request body (sent), not a response body (received).
    sending: bool,
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
        SpeedCheck {
            limit,
            sending: false,
            need: limit.need(limit.time),
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
            let (kind, what) = match self.sending {
                false => (ErrorKind::ReadTimeout, "the response body arrived"),
                true => (ErrorKind::WriteTimeout, "the server took the request body"),
            };
            return Err(Error::new(
                kind,
                format!(
                    "{what} at {rate:.0} bytes/s over {:?}, under the low-speed limit of {} bytes/s",
                    self.waited, self.limit.bytes_per_sec
                ),
            ));
        }
        self.got = 0;
        self.waited = Duration::ZERO;
        Ok(())
    }
}

/// A timer set and cleared again and again, for the waits of one body: the sleep is made on
/// first use (most bodies never wait) and reset after that, not made anew for every wait.
#[derive(Default)]
struct Alarm {
    sleep: Option<Pin<Box<Sleep>>>,
    set: bool,
}

impl Alarm {
    fn set(&mut self, at: Instant) {
        match self.sleep.as_mut() {
            Some(t) => t.as_mut().reset(at),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
        }
        self.set = true;
    }

    fn clear(&mut self) {
        self.set = false;
    }

    fn is_set(&self) -> bool {
        self.set
    }

    /// Ready once the time set has passed (the alarm is then clear); pending while clear.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.sleep.as_mut() {
            Some(t) if self.set => {
                ready!(t.as_mut().poll(cx));
                self.set = false;
                Poll::Ready(())
            }
            _ => Poll::Pending,
        }
    }
}

/// The receive- and send-rate caps: when a body that has moved `bytes` since `start` may
/// move more to stay within `rate` bytes per second on average.
struct Pace {
    rate: u64,
    start: Instant,
    bytes: u64,
}

impl Pace {
    fn after(&mut self, n: usize, now: Instant) -> Option<Instant> {
        self.bytes += n as u64;
        let due = self.start + Duration::from_secs_f64(self.bytes as f64 / self.rate as f64);
        (due > now).then_some(due)
    }
}

/// Both timers of one body, for the buffered reader and the stream pump alike: one deadline
/// to sleep until, and what it means when it passes; and the receive-rate cap's pauses.
pub(crate) struct BodyTimer {
    read: Option<Duration>,
    speed: Option<SpeedCheck>,
    pace: Option<Pace>,
    /// When the current silence began (None: data just came). It keeps counting across
    /// low-speed windows.
    silent_since: Option<Instant>,
    /// The one timer the deadlines and the pauses share.
    alarm: Alarm,
}

impl BodyTimer {
    pub(crate) fn new(
        read: Option<Duration>,
        speed: Option<LowSpeed>,
        rate: Option<u64>,
    ) -> BodyTimer {
        BodyTimer {
            read,
            speed: speed.map(|l| SpeedCheck::new(l, Instant::now())),
            pace: rate.map(|rate| Pace {
                rate,
                start: Instant::now(),
                bytes: 0,
            }),
            silent_since: None,
            alarm: Alarm::default(),
        }
    }

    /// A wait for the server begins: the timer is set to its deadline (see `waiting`), or
    /// cleared when there is none.
    pub(crate) fn arm(&mut self) {
        match self.waiting() {
            Some(deadline) => self.alarm.set(deadline),
            None => self.alarm.clear(),
        }
    }

    /// Ready when the time set by `arm` (then see `fired`) or by `pause` has passed; never
    /// while there is none.
    pub(crate) fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.alarm.poll(cx)
    }

    /// The receive-rate cap's pause: the timer is set to `until`; wait with `poll_deadline`.
    pub(crate) fn pause(&mut self, until: Instant) {
        self.alarm.set(until)
    }

    /// A wait for the server begins: the read timeout's deadline, or the low-speed window's
    /// end if sooner; None (and no clock read) when neither is set.
    fn waiting(&mut self) -> Option<Instant> {
        if self.read.is_none() && self.speed.is_none() {
            return None;
        }
        let now = Instant::now();
        let window_end = self.speed.as_mut().map(|s| s.waiting(now));
        let read_at = self.read.map(|d| *self.silent_since.get_or_insert(now) + d);
        match (read_at, window_end) {
            (Some(r), Some(w)) => Some(r.min(w)),
            (r, w) => r.or(w),
        }
    }

    /// The deadline passed: Ok when it was a low-speed window's end with enough bytes in it
    /// (wait again); else the low-speed or read timeout error.
    pub(crate) fn fired(&mut self, what: &str) -> Result<()> {
        let now = Instant::now();
        if let Some(s) = self.speed.as_mut() {
            if now >= s.deadline() {
                return s.arrived(0, now);
            }
        }
        Err(read_timeout_error(self.read, what))
    }

    /// `n` bytes arrived: the silence ends; fails when a low-speed window ended short.
    /// Ok(Some(t)): the receive-rate cap asks not to read again before `t`.
    pub(crate) fn arrived(&mut self, n: usize) -> Result<Option<Instant>> {
        self.silent_since = None;
        if self.speed.is_none() && self.pace.is_none() {
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(s) = self.speed.as_mut() {
            s.arrived(n, now)?;
        }
        Ok(self.pace.as_mut().and_then(|p| p.after(n, now)))
    }
}

/// The send-rate cap (curl's `MAX_SEND_SPEED_LARGE`): `body`, when it has bytes to send,
/// handed to hyper in pieces, each once the bytes before it are due at `rate` bytes per
/// second. Its length (and so `Content-Length`) is unchanged. Each piece counts as activity
/// on the connection, as a streamed body's do (`UploadBody`): a paced upload is not silence.
pub(crate) fn throttle(body: &mut Body, rate: u64, traffic: Option<Arc<Traffic>>) {
    if matches!(body, Body::Full(b) if b.is_empty()) {
        return;
    }
    let inner = std::mem::replace(body, Body::Full(Bytes::new()));
    *body = Body::Stream(Box::pin(Throttled {
        body: inner,
        held: Bytes::new(),
        pace: Pace {
            rate,
            start: Instant::now(),
            bytes: 0,
        },
        // About eight pieces a second, within 1 to 64 KiB.
        piece: (rate / 8).clamp(1024, 64 * 1024) as usize,
        wait: Alarm::default(),
        traffic,
    }));
}

struct Throttled {
    body: Body,
    /// The rest of a frame larger than a piece.
    held: Bytes,
    pace: Pace,
    piece: usize,
    /// Set while the next piece is not yet due.
    wait: Alarm,
    traffic: Option<Arc<Traffic>>,
}

impl hyper::body::Body for Throttled {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        if this.wait.is_set() {
            ready!(this.wait.poll(cx));
        }
        while this.held.is_empty() {
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.held = data,
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                end => return Poll::Ready(end),
            }
        }
        let piece = this.held.split_to(this.held.len().min(this.piece));
        if let Some(due) = this.pace.after(piece.len(), Instant::now()) {
            this.wait.set(due);
        }
        if let Some(t) = &this.traffic {
            t.moved.fetch_add(1, Ordering::Relaxed);
        }
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_empty() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        hint_with_held(self.body.size_hint(), self.held.len())
    }
}

/// What a request body's wrapper ([`Measured`]) tells the request's wait for its response
/// head ([`SendCheck`]), which keeps the timer: hyper runs the body on the connection's task
/// and stops asking for it while the server takes nothing, so the body cannot time itself.
struct Sent {
    /// When the body was made; the times below are ns since then.
    base: Instant,
    /// Bytes hyper has taken.
    bytes: AtomicU64,
    /// How long the body's source had nothing (the caller's callback or writer, or the
    /// send-rate cap), and since when it has nothing now (0: it has).
    starved: AtomicU64,
    starved_since: AtomicU64,
    /// When the whole body was handed over (or failed); 0: not yet. From then on the wait is
    /// for the response head, which the same limit bounds.
    ended_at: AtomicU64,
}

impl Sent {
    fn ns(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.base).as_nanos() as u64).max(1)
    }

    fn end(&self) {
        self.ended_at
            .store(self.ns(Instant::now()), Ordering::Relaxed);
    }

    /// Time the source had nothing, up to `now`.
    fn starved_until(&self, now: Instant) -> Duration {
        let since = self.starved_since.load(Ordering::Relaxed);
        let open = match since {
            0 => 0,
            since => self.ns(now).saturating_sub(since),
        };
        Duration::from_nanos(self.starved.load(Ordering::Relaxed) + open)
    }
}

/// The most of a body in hand handed to hyper at once while its speed is measured, so that
/// its progress shows.
const MEASURED_PIECE: usize = 64 * 1024;

/// Makes `body` measured for the low-speed limit `limit`; the check that goes with it is for
/// the wait for the response head, which watches `traffic` (the connection's activity, when
/// it counts it) once the body has ended: its silence, and with `head_speed` (HTTP/1.1, where
/// the connection is the request's alone) its speed. None (and `body` untouched) for an
/// empty body.
pub(crate) fn measure(
    body: &mut Body,
    limit: LowSpeed,
    traffic: Option<Arc<Traffic>>,
    head_speed: bool,
) -> Option<SendCheck> {
    if matches!(body, Body::Full(b) if b.is_empty()) {
        return None;
    }
    let now = Instant::now();
    let sent = Arc::new(Sent {
        base: now,
        bytes: AtomicU64::new(0),
        starved: AtomicU64::new(0),
        starved_since: AtomicU64::new(0),
        ended_at: AtomicU64::new(0),
    });
    let inner = std::mem::replace(body, Body::Full(Bytes::new()));
    *body = Body::Stream(Box::pin(Measured {
        body: inner,
        held: Bytes::new(),
        sent: sent.clone(),
    }));
    let mut check = SpeedCheck::new(limit, now);
    check.sending = true;
    let mut alarm = Alarm::default();
    alarm.set(check.waiting(now));
    let seen = traffic
        .as_ref()
        .map_or(0, |t| t.moved.load(Ordering::Relaxed));
    Some(SendCheck {
        sent,
        check,
        alarm,
        bytes: 0,
        starved: Duration::ZERO,
        traffic,
        seen,
        head_due: None,
        head_speed,
        head: None,
    })
}

/// A request body whose progress [`SendCheck`] watches.
struct Measured {
    body: Body,
    /// The rest of a body in hand, or of a frame larger than a piece.
    held: Bytes,
    sent: Arc<Sent>,
}

impl Measured {
    fn hand(&mut self, mut data: Bytes) -> Poll<Option<Result<Frame<Bytes>>>> {
        if data.len() > MEASURED_PIECE {
            self.held = data.split_off(MEASURED_PIECE);
        }
        self.sent
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        if self.held.is_empty() && self.body.is_end_stream() {
            self.sent.end();
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }
}

impl hyper::body::Body for Measured {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        if !this.held.is_empty() {
            let held = std::mem::take(&mut this.held);
            return this.hand(held);
        }
        let polled = match &mut this.body {
            Body::Full(b) if b.is_empty() => Poll::Ready(None),
            Body::Full(b) => {
                let whole = std::mem::take(b);
                return this.hand(whole);
            }
            Body::Stream(s) => s.as_mut().poll_frame(cx),
        };
        let sent = &this.sent;
        match polled {
            Poll::Pending => {
                // The source has nothing yet: not the server's doing.
                if sent.starved_since.load(Ordering::Relaxed) == 0 {
                    let now = sent.ns(Instant::now());
                    sent.starved_since.store(now, Ordering::Relaxed);
                }
                Poll::Pending
            }
            Poll::Ready(Some(Ok(frame))) => {
                let since = sent.starved_since.swap(0, Ordering::Relaxed);
                if since != 0 {
                    let now = sent.ns(Instant::now());
                    sent.starved
                        .fetch_add(now.saturating_sub(since), Ordering::Relaxed);
                }
                match frame.into_data() {
                    Ok(data) => this.hand(data),
                    Err(trailers) => Poll::Ready(Some(Ok(trailers))),
                }
            }
            end => {
                sent.end();
                end
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_empty() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        hint_with_held(self.body.size_hint(), self.held.len())
    }
}

/// The low-speed limit on a request body, kept by the request's wait for its response head:
/// at each window's end it counts what hyper took, less the time the source had nothing.
pub(crate) struct SendCheck {
    sent: Arc<Sent>,
    check: SpeedCheck,
    alarm: Alarm,
    /// What `sent` said at the last look.
    bytes: u64,
    starved: Duration,
    /// The connection's activity (reads, and the socket taking more of the body), and its
    /// count at the last look: once the body has ended, the wait for the head fails after
    /// the limit's time without any.
    traffic: Option<Arc<Traffic>>,
    seen: u64,
    head_due: Option<Instant>,
    /// Whether the wait for the head is timed by its speed too (`measure`); its window,
    /// from the first look after the body ended.
    head_speed: bool,
    head: Option<HeadSpeed>,
}

impl SendCheck {
    /// Ready with `ErrorKind::WriteTimeout` once a window of time with bytes ready for the
    /// server has ended with fewer taken than the limit asks for. Once the whole body was
    /// handed over to hyper, ready with `ErrorKind::ReadTimeout` when the connection then
    /// stays silent for the limit's time (nothing read, and none of what hyper still holds
    /// taken by the socket): a speed of 0, as for a request without a body. Noticed within
    /// one to two times the limit's time, as the read timeout is.
    pub(crate) fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        while self.alarm.poll(cx).is_ready() {
            let now = Instant::now();
            let ended = self.sent.ended_at.load(Ordering::Relaxed);
            if ended != 0 {
                let time = self.check.limit.time;
                let reads = self
                    .traffic
                    .as_ref()
                    .map(|t| t.moved.load(Ordering::Relaxed));
                let due = match (reads, self.head_due) {
                    (Some(r), _) if r != self.seen => now + time,
                    (_, Some(due)) => due,
                    (_, None) => self.sent.base + Duration::from_nanos(ended) + time,
                };
                if now >= due {
                    return Poll::Ready(slow_head_error(time).unanswered());
                }
                if let Some(r) = reads.filter(|_| self.head_speed) {
                    match &mut self.head {
                        Some(head) => {
                            if let Some(e) = head.check(r, now) {
                                return Poll::Ready(e.unanswered());
                            }
                        }
                        None => self.head = Some(HeadSpeed::new(self.check.limit, r)),
                    }
                }
                self.seen = reads.unwrap_or(0);
                self.head_due = Some(due);
                self.alarm.set(due);
                continue;
            }
            let bytes = self.sent.bytes.load(Ordering::Relaxed);
            let starved = self.sent.starved_until(now);
            // Time the source had nothing since the last look is not time waited.
            let idle = starved.saturating_sub(self.starved);
            self.check.since = (self.check.since + idle).min(now);
            let got = bytes.saturating_sub(self.bytes);
            (self.bytes, self.starved) = (bytes, starved);
            if let Err(e) = self.check.arrived(got as usize, now) {
                return Poll::Ready(e.unanswered());
            }
            self.alarm.set(self.check.deadline());
        }
        Poll::Pending
    }
}

/// What a request's wait for its response head watches besides the server's silence: an
/// HTTP/2 body's flow-control window (the write timeout, `transport::window`), the
/// low-speed limit on the body, and without a body, the speed of the wait itself. Boxed in
/// that wait, which stays as small as without them.
#[derive(Default)]
pub(crate) struct HeadWatch {
    pub(crate) window: Option<Watch>,
    pub(crate) sending: Option<SendCheck>,
    /// Looked at by the wait's own timer, which fires at least once a limit's time.
    pub(crate) speed: Option<HeadSpeed>,
}

/// The low-speed limit over a wait for a response head on HTTP/1.1: the connection's traffic
/// (`Traffic::moved`) over each window of the limit's time must reach its rate, so a head
/// trickled slower than that fails, as a silent server does (curl's LOW_SPEED_TIME counts
/// every byte). The read timeout alone lets a trickle through, as curl's and httpx's do.
/// Looked at only once the connection showed life since the last look: silence is its
/// caller's rule, with its own message.
pub(crate) struct HeadSpeed {
    limit: LowSpeed,
    /// The window's start, and `moved` then.
    since: Instant,
    at: u64,
}

impl HeadSpeed {
    pub(crate) fn new(limit: LowSpeed, moved: u64) -> HeadSpeed {
        HeadSpeed {
            limit,
            since: Instant::now(),
            at: moved,
        }
    }

    /// A look at `moved` at `now`: the error once a window has ended under the limit's rate;
    /// a window that ended with enough starts the next.
    pub(crate) fn check(&mut self, moved: u64, now: Instant) -> Option<Error> {
        let over = now.saturating_duration_since(self.since);
        if over < self.limit.time {
            return None;
        }
        let got = moved.wrapping_sub(self.at);
        if got == 0 {
            return None; // Silence: the caller's own rule, with its own message.
        }
        if got < self.limit.need(over) {
            return Some(Error::new(
                ErrorKind::ReadTimeout,
                format!(
                    "{got} bytes on the connection in {over:?} while waiting for the response \
                     head, under the low-speed limit of {} bytes/s",
                    self.limit.bytes_per_sec
                ),
            ));
        }
        (self.since, self.at) = (now, moved);
        None
    }
}

impl HeadWatch {
    /// Out of line: the wait for a head that has no watch stays as small as it was.
    #[inline(never)]
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        if let Some(Poll::Ready(e)) = self.window.as_mut().map(|w| w.poll_stalled(cx)) {
            return Poll::Ready(e);
        }
        match self.sending.as_mut() {
            Some(s) => s.poll_slow(cx),
            None => Poll::Pending,
        }
    }
}

/// The low-speed limit's error for a server silent for its `time` while the response head is
/// awaited (a speed of 0).
pub(crate) fn slow_head_error(time: Duration) -> Error {
    Error::new(
        ErrorKind::ReadTimeout,
        format!(
            "no data from the server for {time:?} while waiting for the response head, under \
             the low-speed limit"
        ),
    )
}

pub(crate) fn read_timeout_error(limit: Option<Duration>, what: &str) -> Error {
    Error::new(
        ErrorKind::ReadTimeout,
        format!(
            "no data from the server for {:?} while {what}",
            limit.unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once a body has ended, its check fails the wait for the head after the limit's time
    /// of silence on the connection; traffic at the limit's rate (reads, the socket taking
    /// more of what hyper holds) moves that on, and traffic under it (a trickled head) fails
    /// at the end of its window.
    #[test]
    fn after_the_body_silence_or_a_trickle_fails_the_head_and_traffic_moves_it_on() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let limit = LowSpeed {
                bytes_per_sec: 100,
                time: Duration::from_millis(300),
            };
            // Bytes moved every 50 ms, twelve times: 0, 2,000 bytes/s, 20 bytes/s.
            for bump in [0, 100, 1] {
                let traffic = Arc::new(Traffic::default());
                let mut body = Body::Full(Bytes::from_static(b"0123456789"));
                let mut check = measure(&mut body, limit, Some(traffic.clone()), true).unwrap();
                // hyper takes the whole body in one piece: it has ended.
                let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                assert!(matches!(frame, Some(Ok(_))));
                let t = Instant::now();
                if bump > 0 {
                    let traffic = traffic.clone();
                    tokio::spawn(async move {
                        for _ in 0..12 {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            traffic.moved.fetch_add(bump, Ordering::Relaxed);
                        }
                    });
                }
                let err = std::future::poll_fn(|cx| check.poll_slow(cx)).await;
                let took = t.elapsed();
                assert_eq!(err.kind(), ErrorKind::ReadTimeout);
                let msg = err.message();
                // Silent from 600 ms on with traffic at the rate; under it, at the end of the
                // window that starts at the first look after the body (300 ms).
                let least = Duration::from_millis(if bump == 0 { 300 } else { 600 });
                assert!(
                    took >= least && took < least + Duration::from_millis(1_500),
                    "bump {bump}: {took:?}"
                );
                // No head came either way (as for the read timeout, a retry may follow).
                assert!(err.is_unanswered());
                if bump == 1 {
                    assert!(
                        msg.contains("bytes on the connection in")
                            && msg.contains("under the low-speed limit of 100 bytes/s"),
                        "{msg}"
                    );
                } else {
                    assert!(msg.contains("no data from the server for 300ms"), "{msg}");
                }
            }
        });
    }

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
