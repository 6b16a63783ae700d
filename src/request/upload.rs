//! A streamed request body: bytes that a caller's function hands over when asked (pull) or
//! that the caller writes through the request's handle (push), passed to hyper as they come.
//! A pushed body buffers at most a bounded amount: a write that finds no room takes what
//! fits (maybe nothing), and when hyper has taken enough for more to fit, the writer is told
//! once (edge-triggered, as reads of a streamed response are).
//!
//! Once the request has ended (completed, cancelled, freed) the source is closed: the pull
//! function is dropped and never called again, writes fail. Closing waits for a call in
//! progress on another thread, so a caller may free what its function uses as soon as the
//! request is done.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};

use crate::error::{Error, ErrorKind, Result};
use crate::transport::Traffic;

/// What a pull function did with the buffer it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Pull {
    /// Wrote this many bytes (at least one) at the start of the buffer.
    Data(usize),
    /// The body is complete.
    End,
    /// Nothing yet: call [`Upload::resume`] when there is.
    Pending,
    /// The source failed: the request fails with this error.
    Failed(Error),
}

/// A pull function: fills the buffer it is given. Called on the thread running the runtime.
pub type PullFn = Box<dyn FnMut(&mut [u8]) -> Pull + Send>;

/// The most a pull function is offered at once.
const PULL_CHUNK: usize = 64 * 1024;

pub struct Upload {
    length: Option<u64>,
    state: Mutex<State>,
    /// Writers blocked in [`Upload::wait_writable`] sleep here.
    writable: Condvar,
    /// The pull function, held while it runs: closing takes it, so it waits for a call in
    /// progress.
    pull: Mutex<Option<PullFn>>,
    /// Tells a writer that found no room that there is some (set when submitted).
    notify: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

struct State {
    /// Pushed bytes not yet taken by hyper, and their total.
    chunks: VecDeque<Bytes>,
    buffered: usize,
    /// The most pushed bytes that wait (set when submitted).
    cap: usize,
    /// Bytes accepted from the source so far (pushed, or pulled and passed on).
    taken: u64,
    /// The writer finished the body (push), or the function returned `End` (pull).
    finished: bool,
    /// The request ended, or the source failed: why. Set once.
    closed: Option<Error>,
    /// The source failed (the error the request reports).
    failed: Option<Error>,
    /// hyper asked for the body: it cannot be sent again.
    started: bool,
    /// The body's task, waiting for data.
    task: Option<Waker>,
    /// `resume` came since the pull function last returned.
    resumed: bool,
    /// The pull function said "not yet": it is not called again until `resume`.
    parked: bool,
    /// The thread calling the pull function now.
    calling: Option<ThreadId>,
    /// A write found no room: the next room is announced.
    armed: bool,
    /// A writer has blocked in `wait_writable`: no announcements from then on.
    blocking: bool,
    waiting: usize,
    push: bool,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Upload")
            .field("length", &self.length)
            .field("push", &s.push)
            .field("taken", &s.taken)
            .field("finished", &s.finished)
            .finish()
    }
}

impl Upload {
    fn new(length: Option<u64>, pull: Option<PullFn>) -> Upload {
        Upload {
            length,
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                buffered: 0,
                cap: 256 * 1024,
                taken: 0,
                finished: false,
                closed: None,
                failed: None,
                started: false,
                task: None,
                resumed: false,
                parked: false,
                calling: None,
                armed: false,
                blocking: false,
                waiting: 0,
                push: pull.is_none(),
            }),
            writable: Condvar::new(),
            pull: Mutex::new(pull),
            notify: OnceLock::new(),
        }
    }

    /// A body that `f` hands over piece by piece; `length` when known (sent as
    /// Content-Length, and held to), else chunked (HTTP/1.1) or DATA frames until the end.
    pub fn pull(length: Option<u64>, f: PullFn) -> Arc<Upload> {
        Arc::new(Upload::new(length, Some(f)))
    }

    /// A body the caller writes through the handle after submitting, then finishes.
    pub fn push(length: Option<u64>) -> Arc<Upload> {
        Arc::new(Upload::new(length, None))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn length(&self) -> Option<u64> {
        self.length
    }

    /// Submitted: how much a pushed body buffers, and how a writer that found no room is told.
    pub(crate) fn bind(&self, cap: usize, notify: Box<dyn Fn() + Send + Sync>) {
        self.lock().cap = cap.max(1);
        let _ = self.notify.set(notify);
    }

    /// Whether the body was never asked for, so a new attempt can send it.
    pub(crate) fn can_resend(&self) -> bool {
        let s = self.lock();
        !s.started && s.closed.is_none()
    }

    /// The error the source failed with, if it did.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.lock().failed.clone()
    }

    /// Pushes up to `data.len()` bytes: returns how many fit (0 when the buffer is full: the
    /// next room is announced, or wait for it with `wait_writable`).
    pub fn write(&self, data: &[u8]) -> Result<usize> {
        let mut s = self.lock();
        if !s.push {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the request's body comes from its callback, not from writes",
            ));
        }
        if let Some(e) = &s.closed {
            return Err(e.clone());
        }
        if s.finished {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the request body was already finished",
            ));
        }
        if let Some(len) = self.length {
            if s.taken + data.len() as u64 > len {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "writing {} bytes after {} would pass the body's length of {len}",
                        data.len(),
                        s.taken
                    ),
                ));
            }
        }
        let n = data.len().min(s.cap.saturating_sub(s.buffered));
        if n == 0 {
            s.armed = !s.blocking && !data.is_empty();
            return Ok(0);
        }
        s.chunks.push_back(Bytes::copy_from_slice(&data[..n]));
        s.buffered += n;
        s.taken += n as u64;
        let task = s.task.take();
        drop(s);
        if let Some(w) = task {
            w.wake();
        }
        Ok(n)
    }

    /// Ends a pushed body. With a known length, ending short fails the request.
    /// Finishing a body whose declared length was all written is always fine, even when the
    /// request has ended since: a server may answer as soon as it has the whole body.
    pub fn finish(&self) -> Result<()> {
        let mut s = self.lock();
        if let Some(e) = &s.closed {
            if s.push && self.length == Some(s.taken) {
                return Ok(());
            }
            return Err(e.clone());
        }
        if !s.push {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the request's body comes from its callback, not from writes",
            ));
        }
        let mut short = None;
        if let Some(len) = self.length {
            if s.taken < len {
                short = Some(Error::new(
                    ErrorKind::BodySource,
                    format!(
                        "the request body was finished after {} of its {len} bytes",
                        s.taken
                    ),
                ));
            }
        }
        s.finished = true;
        if let Some(e) = &short {
            s.failed = Some(e.clone());
        }
        let task = s.task.take();
        drop(s);
        if let Some(w) = task {
            w.wake();
        }
        short.map_or(Ok(()), Err)
    }

    /// A pull function that returned `Pending` has data (or its end) now: it is called again.
    pub fn resume(&self) -> Result<()> {
        let mut s = self.lock();
        if let Some(e) = &s.closed {
            return Err(e.clone());
        }
        s.resumed = true;
        s.parked = false;
        let task = s.task.take();
        drop(s);
        if let Some(w) = task {
            w.wake();
        }
        Ok(())
    }

    /// Blocks until a write would take at least one byte (or fail), or `deadline` passes:
    /// true if so. From the first call on, room is no longer announced.
    pub fn wait_writable(&self, deadline: Option<Instant>) -> bool {
        let mut s = self.lock();
        s.blocking = true;
        s.armed = false;
        s.waiting += 1;
        let ready = loop {
            if s.closed.is_some() || s.finished || s.buffered < s.cap {
                break true;
            }
            match deadline {
                None => s = self.writable.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break false;
                    }
                    s = self
                        .writable
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        };
        s.waiting -= 1;
        ready
    }

    /// The request ended: no more calls of the pull function once this returns (unless it is
    /// called from within that function), writes fail with `why`. Returns true when a writer
    /// waiting for room is to be told.
    pub(crate) fn close(&self, why: Error) -> bool {
        let mut s = self.lock();
        if s.closed.is_some() {
            return false;
        }
        s.closed = Some(why);
        s.chunks.clear();
        s.buffered = 0;
        let inside = s.calling == Some(std::thread::current().id());
        let task = s.task.take();
        let tell = std::mem::take(&mut s.armed);
        let waiting = s.waiting > 0;
        drop(s);
        if waiting {
            self.writable.notify_all();
        }
        if let Some(w) = task {
            w.wake();
        }
        if !inside {
            // Waits for a call in progress on another thread; drops the function.
            drop(self.pull.lock().unwrap_or_else(|p| p.into_inner()).take());
        }
        tell
    }

    /// The next piece for hyper.
    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        let mut s = self.lock();
        s.started = true;
        if let Some(e) = &s.failed {
            return Poll::Ready(Some(Err(e.clone())));
        }
        if let Some(e) = &s.closed {
            return Poll::Ready(Some(Err(e.clone())));
        }
        if s.push {
            if let Some(chunk) = s.chunks.pop_front() {
                let was_full = s.buffered >= s.cap;
                s.buffered -= chunk.len();
                let room = s.buffered < s.cap;
                let tell = room && std::mem::take(&mut s.armed);
                let waiting = room && was_full && s.waiting > 0;
                drop(s);
                if waiting {
                    self.writable.notify_all();
                }
                if tell {
                    if let Some(n) = self.notify.get() {
                        n();
                    }
                }
                return Poll::Ready(Some(Ok(chunk)));
            }
            if s.finished || self.length == Some(s.taken) {
                return Poll::Ready(None);
            }
            store(&mut s.task, cx);
            return Poll::Pending;
        }
        if s.finished || self.length == Some(s.taken) {
            s.finished = true;
            return Poll::Ready(None);
        }
        if s.parked {
            store(&mut s.task, cx);
            return Poll::Pending;
        }
        self.poll_pull(s, cx)
    }

    fn poll_pull(
        &self,
        mut s: MutexGuard<'_, State>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes>>> {
        let room = match self.length {
            Some(len) => (len - s.taken).min(PULL_CHUNK as u64) as usize,
            None => PULL_CHUNK,
        };
        let taken = s.taken;
        s.resumed = false;
        s.calling = Some(std::thread::current().id());
        drop(s);
        let mut buf = BytesMut::zeroed(room.max(1));
        let got = {
            let mut f = self.pull.lock().unwrap_or_else(|p| p.into_inner());
            match f.as_mut() {
                Some(f) => f(&mut buf[..room]),
                None => Pull::Failed(Error::new(ErrorKind::Cancelled, "the request ended")),
            }
        };
        let mut s = self.lock();
        s.calling = None;
        if s.closed.is_some() {
            // Closed from within the function: it is dropped now.
            drop(s);
            drop(self.pull.lock().unwrap_or_else(|p| p.into_inner()).take());
            let s = self.lock();
            return Poll::Ready(Some(Err(s.closed.clone().unwrap_or_else(Error::closed))));
        }
        let fail = |s: &mut State, e: Error| {
            s.failed = Some(e.clone());
            Poll::Ready(Some(Err(e)))
        };
        match got {
            Pull::Data(n) if n > room => fail(
                &mut s,
                Error::new(
                    ErrorKind::BodySource,
                    format!("the body callback reported {n} bytes written into a buffer of {room}"),
                ),
            ),
            Pull::Data(0) | Pull::End => {
                if let Some(len) = self.length.filter(|&len| taken < len) {
                    return fail(
                        &mut s,
                        Error::new(
                            ErrorKind::BodySource,
                            format!("the body callback ended after {taken} of its {len} bytes"),
                        ),
                    );
                }
                s.finished = true;
                Poll::Ready(None)
            }
            Pull::Data(n) => {
                s.taken += n as u64;
                buf.truncate(n);
                Poll::Ready(Some(Ok(buf.freeze())))
            }
            Pull::Pending => {
                if s.resumed {
                    // Resumed while the function ran: ask again on the next poll.
                    cx.waker().wake_by_ref();
                } else {
                    s.parked = true;
                    store(&mut s.task, cx);
                }
                Poll::Pending
            }
            Pull::Failed(e) => fail(&mut s, e),
        }
    }

    fn is_end(&self) -> bool {
        let s = self.lock();
        (s.finished || self.length == Some(s.taken))
            && s.chunks.is_empty()
            && s.failed.is_none()
            && s.closed.is_none()
    }
}

fn store(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) => w.clone_from(cx.waker()),
        None => *slot = Some(cx.waker().clone()),
    }
}

/// The body hyper sends: the upload's pieces. Each piece hyper takes counts as activity on
/// the connection (as large socket writes do), so an upload that lasts longer than the read
/// timeout is not taken for a silent server while the head is awaited: the timeout runs from
/// the last piece.
pub(crate) struct UploadBody {
    upload: Arc<Upload>,
    activity: Option<Arc<Traffic>>,
}

impl UploadBody {
    pub(crate) fn new(upload: Arc<Upload>, activity: Option<Arc<Traffic>>) -> UploadBody {
        UploadBody { upload, activity }
    }
}

impl hyper::body::Body for UploadBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Error>>> {
        let r = self.upload.poll_next(cx);
        if let (Poll::Ready(_), Some(a)) = (&r, &self.activity) {
            a.moved.fetch_add(1, Ordering::Relaxed);
        }
        r.map(|o| o.map(|r| r.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.upload.is_end()
    }

    fn size_hint(&self) -> SizeHint {
        match self.upload.length {
            Some(len) => SizeHint::with_exact(len - self.upload.lock().taken.min(len)),
            None => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn cx_of(c: &Arc<Count>) -> Waker {
        Waker::from(c.clone())
    }

    fn next(u: &Upload, w: &Waker) -> Poll<Option<Result<Bytes>>> {
        u.poll_next(&mut Context::from_waker(w))
    }

    #[test]
    fn pushed_bytes_come_out_in_order_and_room_is_announced_once() {
        let u = Upload::push(None);
        let told = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t = told.clone();
        u.bind(
            4,
            Box::new(move || {
                t.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let count = Arc::new(Count(0.into()));
        let w = cx_of(&count);
        assert!(next(&u, &w).is_pending());
        assert_eq!(u.write(b"abcdef").unwrap(), 4, "takes what fits");
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "the body's task is woken"
        );
        assert_eq!(u.write(b"ef").unwrap(), 0, "full: nothing, and armed");
        assert_eq!(u.write(b"ef").unwrap(), 0);
        assert_eq!(
            next(&u, &w),
            Poll::Ready(Some(Ok(Bytes::from_static(b"abcd"))))
        );
        assert_eq!(told.load(Ordering::SeqCst), 1, "room announced once");
        assert_eq!(u.write(b"ef").unwrap(), 2);
        u.finish().unwrap();
        assert_eq!(
            next(&u, &w),
            Poll::Ready(Some(Ok(Bytes::from_static(b"ef"))))
        );
        assert_eq!(next(&u, &w), Poll::Ready(None));
        assert!(u.write(b"x").is_err(), "finished");
    }

    #[test]
    fn a_known_length_is_held_to() {
        let u = Upload::push(Some(3));
        assert_eq!(
            u.write(b"abcd").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        u.write(b"ab").unwrap();
        assert_eq!(u.finish().unwrap_err().kind(), ErrorKind::BodySource);
        let w = cx_of(&Arc::new(Count(0.into())));
        match next(&u, &w) {
            Poll::Ready(Some(Err(e))) => assert_eq!(e.kind(), ErrorKind::BodySource),
            other => panic!("{other:?}"),
        }

        let mut left = 5;
        let u = Upload::pull(
            Some(4),
            Box::new(move |buf| {
                assert!(buf.len() <= 4);
                let n = buf.len().min(left);
                left -= n;
                Pull::Data(n.max(1))
            }),
        );
        assert!(matches!(next(&u, &w), Poll::Ready(Some(Ok(b))) if b.len() == 4));
        // The length is reached: the function is not called again.
        assert_eq!(next(&u, &w), Poll::Ready(None));

        let u = Upload::pull(
            Some(4),
            Box::new(|buf| {
                buf[0] = b'x';
                Pull::Data(1)
            }),
        );
        let _ = next(&u, &w);
        let u2 = Upload::pull(Some(4), Box::new(|_| Pull::End));
        match next(&u2, &w) {
            Poll::Ready(Some(Err(e))) => assert_eq!(e.kind(), ErrorKind::BodySource),
            other => panic!("an early end: {other:?}"),
        }
    }

    #[test]
    fn a_pull_function_that_is_not_ready_is_called_again_after_resume() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = calls.clone();
        let u = Upload::pull(
            None,
            Box::new(move |buf| match c.fetch_add(1, Ordering::SeqCst) {
                0 => Pull::Pending,
                1 => {
                    buf[..2].copy_from_slice(b"hi");
                    Pull::Data(2)
                }
                _ => Pull::End,
            }),
        );
        let count = Arc::new(Count(0.into()));
        let w = cx_of(&count);
        assert!(next(&u, &w).is_pending());
        assert!(
            next(&u, &w).is_pending(),
            "polled again: not called before a resume"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        u.resume().unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            next(&u, &w),
            Poll::Ready(Some(Ok(Bytes::from_static(b"hi"))))
        );
        assert_eq!(next(&u, &w), Poll::Ready(None));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn closing_drops_the_function_and_fails_writes() {
        struct Dropped(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = Dropped(flag.clone());
        let u = Upload::pull(
            None,
            Box::new(move |_| {
                let _keep = &d;
                Pull::Pending
            }),
        );
        u.close(Error::new(ErrorKind::Cancelled, "cancelled"));
        assert!(flag.load(Ordering::SeqCst), "the function is dropped");
        let w = cx_of(&Arc::new(Count(0.into())));
        match next(&u, &w) {
            Poll::Ready(Some(Err(e))) => assert_eq!(e.kind(), ErrorKind::Cancelled),
            other => panic!("{other:?}"),
        }
        let p = Upload::push(None);
        assert!(!p.close(Error::new(ErrorKind::Cancelled, "x")));
        assert_eq!(p.write(b"a").unwrap_err().kind(), ErrorKind::Cancelled);
        assert_eq!(p.finish().unwrap_err().kind(), ErrorKind::Cancelled);
        // A declared length all written: the body is whole, finishing it is fine after the
        // end; short of it, finishing says why the rest was not sent.
        for (wrote, ok) in [(&b"abc"[..], true), (&b"ab"[..], false)] {
            let p = Upload::push(Some(3));
            p.write(wrote).unwrap();
            p.close(Error::new(
                ErrorKind::Cancelled,
                "the request has completed",
            ));
            assert_eq!(p.finish().is_ok(), ok);
        }
        assert!(
            p.wait_writable(None),
            "a closed upload never blocks a writer"
        );
    }

    #[test]
    fn a_blocked_writer_wakes_when_hyper_takes_a_piece() {
        let u = Upload::push(None);
        u.bind(2, Box::new(|| {}));
        assert_eq!(u.write(b"ab").unwrap(), 2);
        let u2 = u.clone();
        let th = std::thread::spawn(move || u2.wait_writable(None));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let w = cx_of(&Arc::new(Count(0.into())));
        assert!(next(&u, &w).is_ready());
        assert!(th.join().unwrap());
        let t0 = Instant::now();
        u.write(b"cd").unwrap();
        assert!(!u.wait_writable(Some(t0 + std::time::Duration::from_millis(20))));
    }
}
