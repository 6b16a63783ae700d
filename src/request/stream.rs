//! A streamed response body: the request's task fills it as frames arrive, the caller reads
//! it at its own pace, and no more than a bounded amount waits between them. When the buffer
//! is full the task stops reading the body, so hyper stops reading the socket (HTTP/1.1) or
//! granting flow-control window (HTTP/2) and the server is held back by TCP or HTTP/2 itself.
//!
//! Readiness is edge-triggered, as with `EPOLLET`: a read that finds nothing arms the stream,
//! and the next data (or the end, or an error) is announced once. A caller reads until it
//! gets [`Read::Pending`], then waits for the announcement (or blocks in [`BodyStream::wait`]).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;

use crate::error::{Error, Result};

/// What one read found.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Read {
    /// This many bytes were copied (at least one, unless `buf` was empty).
    Data(usize),
    /// The body ended; every byte was read.
    End,
    /// Nothing buffered yet: the next data, end or error will be announced.
    Pending,
    /// The body failed (after the bytes before the failure were read).
    Failed(Error),
}

/// The most bytes one [`BodyStream::read_chunk`] takes (256 KiB).
pub(crate) const MAX_CHUNK: usize = 256 * 1024;

/// Pieces smaller than this are joined into one chunk when several wait; a larger one is
/// lent alone, never copied.
const JOIN_BELOW: usize = 16 * 1024;

/// What one [`BodyStream::read_chunk`] found.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk {
    /// The next bytes (never empty), taken out of the buffer without a copy; `last`: the
    /// body ended with them (the next read gives `End`).
    Data { bytes: Bytes, last: bool },
    /// The body ended; every byte was read.
    End,
    /// Nothing buffered yet: the next data, end or error will be announced.
    Pending,
    /// The body failed (after the bytes before the failure were read).
    Failed(Error),
}

pub struct BodyStream {
    state: Mutex<State>,
    /// Blocked readers ([`BodyStream::wait`]) sleep here.
    readable: Condvar,
    /// Bytes buffered before the task stops reading.
    cap: usize,
    /// The trailer fields, if the body ended with some.
    trailers: OnceLock<HeaderMap>,
    /// When the whole body had arrived.
    ended: OnceLock<Instant>,
}

struct State {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    /// Ok: the whole body arrived; Err: why it stopped. Set once.
    end: Option<Result<()>>,
    /// A read found nothing: the next change is announced.
    armed: bool,
    /// The reader is gone (handle freed or cancelled): the task stops.
    closed: bool,
    /// The task, waiting for room or for the reader to go.
    task: Option<Waker>,
    /// Readers blocked in `wait`.
    waiting: usize,
    /// A reader has blocked in `wait`: it learns of changes there, so none are announced
    /// (they would pile up in a queue nobody drains).
    blocking: bool,
    /// The bytes of the last [`BodyStream::lend`], kept until the reader's next call.
    lent: Option<Bytes>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("BodyStream")
            .field("buffered", &s.buffered)
            .field("cap", &self.cap)
            .field("ended", &s.end.is_some())
            .finish()
    }
}

impl BodyStream {
    pub(crate) fn new(cap: usize) -> BodyStream {
        BodyStream {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                buffered: 0,
                end: None,
                armed: false,
                closed: false,
                task: None,
                waiting: 0,
                blocking: false,
                lent: None,
            }),
            readable: Condvar::new(),
            cap: cap.max(1),
            trailers: OnceLock::new(),
            ended: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a read finds with nothing buffered: the end, the failure, or nothing yet (the
    /// stream is then armed: the next change is announced, unless a reader blocks instead).
    fn empty_read(s: &mut State) -> Read {
        match &s.end {
            Some(Ok(())) => Read::End,
            Some(Err(e)) => Read::Failed(e.clone()),
            None => {
                s.armed = !s.blocking;
                Read::Pending
            }
        }
    }

    /// Copies buffered bytes into `buf` (`Data(0)` only for an empty `buf`).
    pub fn read(&self, buf: &mut [u8]) -> Read {
        let mut s = self.lock();
        s.lent = None; // a read ends the last loan
        if s.buffered == 0 {
            return Self::empty_read(&mut s);
        }
        let was_full = s.buffered >= self.cap;
        let mut n = 0;
        while n < buf.len() {
            let Some(chunk) = s.chunks.front_mut() else {
                break;
            };
            let take = chunk.len().min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&chunk[..take]);
            chunk.advance(take);
            n += take;
            if chunk.is_empty() {
                s.chunks.pop_front();
            }
        }
        s.buffered -= n;
        if was_full && s.buffered < self.cap {
            if let Some(w) = s.task.take() {
                drop(s);
                w.wake();
            }
        }
        Read::Data(n)
    }

    /// Takes buffered bytes, up to 256 KiB, without copying them: one piece as the server
    /// sent it (or its first 256 KiB), or, when it is small (under 16 KiB) and more small
    /// ones follow, as many of those as fit joined into one (a copy of small pieces only,
    /// which saves the caller a call per piece).
    pub fn read_chunk(&self) -> Chunk {
        self.take(false)
    }

    /// [`BodyStream::read_chunk`] for a caller that cannot own a `Bytes` (the C API): the
    /// stream keeps a handle on the bytes, so they stay where the returned chunk's `bytes`
    /// points until the next read of this stream or its drop, whatever happens meanwhile
    /// (closing the stream does not release them).
    pub(crate) fn lend(&self) -> Chunk {
        self.take(true)
    }

    fn take(&self, lend: bool) -> Chunk {
        let mut s = self.lock();
        s.lent = None; // a read ends the last loan
        if s.buffered == 0 {
            return match Self::empty_read(&mut s) {
                Read::End => Chunk::End,
                Read::Failed(e) => Chunk::Failed(e),
                _ => Chunk::Pending,
            };
        }
        let was_full = s.buffered >= self.cap;
        let small = |c: Option<&Bytes>| c.is_some_and(|c| c.len() < JOIN_BELOW);
        let bytes = if small(s.chunks.front()) && small(s.chunks.get(1)) {
            let mut joined = BytesMut::new();
            while small(s.chunks.front()) && joined.len() < MAX_CHUNK - JOIN_BELOW {
                let c = s.chunks.pop_front().unwrap_or_default();
                joined.extend_from_slice(&c);
            }
            joined.freeze()
        } else {
            let front = s.chunks.front_mut().expect("buffered bytes are in chunks");
            if front.len() > MAX_CHUNK {
                front.split_to(MAX_CHUNK)
            } else {
                s.chunks.pop_front().unwrap_or_default()
            }
        };
        s.buffered -= bytes.len();
        if lend {
            s.lent = Some(bytes.clone()); // a second handle on the same bytes
        }
        let last = s.buffered == 0 && matches!(s.end, Some(Ok(())));
        let task = if was_full && s.buffered < self.cap {
            s.task.take()
        } else {
            None
        };
        drop(s);
        if let Some(w) = task {
            w.wake();
        }
        Chunk::Data { bytes, last }
    }

    /// When the whole body had arrived (None before, or when it failed).
    pub fn ended(&self) -> Option<Instant> {
        self.ended.get().copied()
    }

    /// Why the body stopped, if it failed (or was closed by its reader).
    pub fn failure(&self) -> Option<Error> {
        match &self.lock().end {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// Bytes buffered now.
    pub fn buffered(&self) -> usize {
        self.lock().buffered
    }

    /// Blocks until a read would not return `Pending`, or `deadline` passes: true if
    /// readable. (The runtime keeps running on its own thread meanwhile.) From the first
    /// call on, the stream's changes are no longer announced: a blocking reader learns of
    /// them here.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut s = self.lock();
        s.blocking = true;
        s.armed = false;
        s.waiting += 1;
        let ready = loop {
            if s.buffered > 0 || s.end.is_some() {
                break true;
            }
            match deadline {
                None => s = self.readable.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break false;
                    }
                    s = self
                        .readable
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        };
        s.waiting -= 1;
        ready
    }

    /// The trailer fields that ended the body, if any (readable once the body ended).
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.get()
    }

    /// The reader gives up (cancel, free): buffered data is dropped, later reads fail with
    /// `why` unless the reader had already read the whole body, and the task stops reading.
    /// Returns true when a reader that found the stream empty is to be told.
    pub(crate) fn close(&self, why: Error) -> bool {
        let mut s = self.lock();
        s.closed = true;
        // A body that arrived whole but was not read to its end is cut off too: its unread
        // bytes are gone, so reads must not report a clean end.
        let read_whole = matches!(s.end, Some(Ok(()))) && s.buffered == 0;
        s.chunks.clear();
        s.buffered = 0;
        if !read_whole && !matches!(s.end, Some(Err(_))) {
            s.end = Some(Err(why));
        }
        let task = s.task.take();
        let tell = std::mem::take(&mut s.armed);
        let waiting = s.waiting > 0;
        drop(s);
        if waiting {
            self.readable.notify_all();
        }
        if let Some(w) = task {
            w.wake();
        }
        tell
    }

    /// For the task: Ready(true) when there is room for more, Ready(false) when the reader is
    /// gone; with `need_room` false, only the reader going counts.
    pub(crate) fn poll_wanted(&self, cx: &mut Context<'_>, need_room: bool) -> Poll<bool> {
        let mut s = self.lock();
        if s.closed {
            return Poll::Ready(false);
        }
        if need_room && s.buffered < self.cap {
            return Poll::Ready(true);
        }
        match &mut s.task {
            Some(w) => w.clone_from(cx.waker()),
            None => s.task = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// For the task: appends decoded body bytes. Returns true when the reader is to be told
    /// (it found the stream empty since it was last told).
    pub(crate) fn push(&self, data: Bytes) -> bool {
        if data.is_empty() {
            return false;
        }
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        s.buffered += data.len();
        s.chunks.push_back(data);
        self.announce(s)
    }

    /// For the task: the body ended (Ok) or failed. Returns true when the reader is to be
    /// told. The first end counts.
    pub(crate) fn finish(&self, end: Result<()>, trailers: Option<HeaderMap>) -> bool {
        if let Some(t) = trailers {
            let _ = self.trailers.set(t);
        }
        let mut s = self.lock();
        // The task waits for the reader no more: its waker goes, so that a close does not
        // wake it in whatever it does next (a kept connection's task waits for its next
        // request: a spurious wake-up of the I/O thread per streamed response).
        let task = s.task.take();
        if s.end.is_some() {
            drop(s);
            drop(task);
            return false;
        }
        if end.is_ok() {
            let _ = self.ended.set(Instant::now());
        }
        s.end = Some(end);
        self.announce(s)
    }

    fn announce(&self, mut s: MutexGuard<'_, State>) -> bool {
        let tell = std::mem::take(&mut s.armed);
        let waiting = s.waiting > 0;
        drop(s);
        if waiting {
            self.readable.notify_all();
        }
        tell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn woken(c: &Arc<Count>) -> usize {
        c.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn reads_come_in_order_across_chunks_then_end() {
        let s = BodyStream::new(1024);
        assert!(!s.push(Bytes::from_static(b"hello ")));
        assert!(!s.push(Bytes::from_static(b"world")));
        let mut buf = [0u8; 4];
        let mut got = Vec::new();
        loop {
            match s.read(&mut buf) {
                Read::Data(n) => got.extend_from_slice(&buf[..n]),
                Read::Pending => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, b"hello world");
        assert!(
            s.finish(Ok(()), None),
            "a reader that found nothing is told"
        );
        assert_eq!(s.read(&mut buf), Read::End);
        assert_eq!(s.read(&mut buf), Read::End);
    }

    #[test]
    fn chunks_are_taken_without_a_copy_and_say_when_they_end_the_body() {
        let s = BodyStream::new(1 << 20);
        let piece = Bytes::from(vec![7u8; 1000]);
        let at = piece.as_ptr();
        s.push(piece);
        match s.read_chunk() {
            Chunk::Data { bytes, last } => {
                assert_eq!(bytes.as_ptr(), at, "the server's piece itself");
                assert_eq!(bytes.len(), 1000);
                assert!(!last, "the body has not ended");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.read_chunk(), Chunk::Pending);
        assert!(s.push(Bytes::from_static(b"ab")), "announced after Pending");
        s.push(Bytes::from_static(b"cd"));
        s.finish(Ok(()), None);
        assert_eq!(
            s.read_chunk(),
            Chunk::Data {
                bytes: Bytes::from_static(b"abcd"),
                last: true
            },
            "several small pieces joined; the end known with them"
        );
        assert_eq!(s.read_chunk(), Chunk::End);
    }

    #[test]
    fn a_chunk_is_at_most_max_chunk() {
        let s = BodyStream::new(1 << 20);
        let big = Bytes::from((0..MAX_CHUNK + 10).map(|i| i as u8).collect::<Vec<_>>());
        s.push(big.clone());
        s.push(Bytes::from_static(b"xyz"));
        s.finish(Ok(()), None);
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        loop {
            match s.read_chunk() {
                Chunk::Data { bytes, last } => {
                    sizes.push((bytes.len(), last));
                    got.extend_from_slice(&bytes);
                }
                Chunk::End => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sizes, [(MAX_CHUNK, false), (13, true)]);
        assert_eq!(&got[..big.len()], &big[..]);
        assert_eq!(&got[big.len()..], b"xyz");
        // Many small pieces: joined, up to MAX_CHUNK; the rest left for the next read.
        let s = BodyStream::new(1 << 20);
        for _ in 0..40 {
            s.push(Bytes::from(vec![1u8; 8 << 10]));
        }
        let sizes: Vec<usize> = (0..2)
            .map(|_| match s.read_chunk() {
                Chunk::Data { bytes, .. } => bytes.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sizes, [240 << 10, 80 << 10]);
        // A small piece before a large one goes alone: the large one is never copied.
        let s = BodyStream::new(1 << 20);
        let large = Bytes::from(vec![2u8; 200 << 10]);
        s.push(Bytes::from(vec![1u8; 4 << 10]));
        s.push(large.clone());
        let Chunk::Data { bytes, .. } = s.read_chunk() else {
            panic!()
        };
        assert_eq!(bytes.len(), 4 << 10);
        let Chunk::Data { bytes, .. } = s.read_chunk() else {
            panic!()
        };
        assert_eq!(bytes.as_ptr(), large.as_ptr());
    }

    #[test]
    fn bytes_before_a_failure_are_not_the_last() {
        let s = BodyStream::new(1024);
        s.push(Bytes::from_static(b"abc"));
        s.finish(Err(Error::new(ErrorKind::Io, "reset")), None);
        assert_eq!(
            s.read_chunk(),
            Chunk::Data {
                bytes: Bytes::from_static(b"abc"),
                last: false
            }
        );
        assert!(matches!(s.read_chunk(), Chunk::Failed(e) if e.kind() == ErrorKind::Io));
    }

    #[test]
    fn lent_bytes_outlive_a_close_and_go_with_the_next_read() {
        let s = BodyStream::new(1024);
        let piece = Bytes::from(vec![3u8; 100]);
        s.push(piece.clone());
        let Chunk::Data { bytes, .. } = s.lend() else {
            panic!()
        };
        drop(bytes);
        // The stream holds a handle on the lent bytes: two now (the test's and the loan).
        assert!(!piece.is_unique());
        s.close(Error::new(ErrorKind::Cancelled, "cancelled"));
        assert!(!piece.is_unique(), "a close does not take the loan back");
        assert!(matches!(s.read(&mut [0u8; 4]), Read::Failed(_)));
        assert!(piece.is_unique(), "the next read ends the loan");
    }

    #[test]
    fn taking_a_chunk_makes_room_for_the_task() {
        let s = BodyStream::new(4);
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        s.push(Bytes::from_static(b"12345"));
        assert_eq!(s.poll_wanted(&mut cx, true), Poll::Pending);
        assert!(matches!(s.read_chunk(), Chunk::Data { .. }));
        assert_eq!(woken(&count), 1);
    }

    #[test]
    fn announcements_are_edge_triggered() {
        let s = BodyStream::new(1024);
        // Nobody looked yet: nothing to announce.
        assert!(!s.push(Bytes::from_static(b"a")));
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf), Read::Data(1));
        assert_eq!(s.read(&mut buf), Read::Pending);
        assert!(s.push(Bytes::from_static(b"b")), "first data after Pending");
        assert!(
            !s.push(Bytes::from_static(b"c")),
            "told once until the next Pending"
        );
        assert_eq!(s.read(&mut buf), Read::Data(2));
    }

    #[test]
    fn data_before_a_failure_is_read_first() {
        let s = BodyStream::new(1024);
        s.push(Bytes::from_static(b"abc"));
        s.finish(Err(Error::new(ErrorKind::Io, "reset")), None);
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf), Read::Data(3));
        match s.read(&mut buf) {
            Read::Failed(e) => assert_eq!(e.kind(), ErrorKind::Io),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_buffer_holds_the_task_until_a_read_makes_room() {
        let s = BodyStream::new(4);
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(s.poll_wanted(&mut cx, true), Poll::Ready(true));
        s.push(Bytes::from_static(b"12345"));
        assert_eq!(s.poll_wanted(&mut cx, true), Poll::Pending);
        let mut buf = [0u8; 1];
        assert_eq!(s.read(&mut buf), Read::Data(1));
        assert_eq!(woken(&count), 0, "still full");
        assert_eq!(s.read(&mut buf), Read::Data(1));
        assert_eq!(woken(&count), 1, "room again");
        assert_eq!(s.poll_wanted(&mut cx, true), Poll::Ready(true));
    }

    #[test]
    fn closing_stops_the_task_and_fails_later_reads() {
        let s = BodyStream::new(4);
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(s.poll_wanted(&mut cx, false), Poll::Pending);
        s.push(Bytes::from_static(b"xy"));
        assert!(!s.close(Error::new(ErrorKind::Cancelled, "cancelled")));
        assert_eq!(woken(&count), 1);
        assert_eq!(s.poll_wanted(&mut cx, true), Poll::Ready(false));
        assert!(!s.push(Bytes::from_static(b"z")));
        match s.read(&mut [0u8; 4]) {
            Read::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn closing_a_body_that_arrived_but_was_not_read_fails_its_reads() {
        let s = BodyStream::new(1024);
        s.push(Bytes::from_static(b"abc"));
        s.finish(Ok(()), None);
        assert!(!s.close(Error::new(ErrorKind::Cancelled, "cancelled")));
        match s.read(&mut [0u8; 8]) {
            Read::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
            other => panic!("{other:?}"),
        }
        // Read to its end first: the end stands.
        let s = BodyStream::new(1024);
        s.push(Bytes::from_static(b"abc"));
        s.finish(Ok(()), None);
        assert_eq!(s.read(&mut [0u8; 8]), Read::Data(3));
        s.close(Error::new(ErrorKind::Cancelled, "cancelled"));
        assert_eq!(s.read(&mut [0u8; 8]), Read::End);
    }

    #[test]
    fn closing_a_finished_body_wakes_nothing() {
        let s = BodyStream::new(4);
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(s.poll_wanted(&mut cx, false), Poll::Pending);
        s.finish(Ok(()), None);
        s.close(Error::new(ErrorKind::Cancelled, "handle freed"));
        assert_eq!(woken(&count), 0, "the task has moved on");
        // Before the end, a close wakes the task (it stops reading).
        let s = BodyStream::new(4);
        assert_eq!(s.poll_wanted(&mut cx, false), Poll::Pending);
        s.close(Error::new(ErrorKind::Cancelled, "handle freed"));
        assert_eq!(woken(&count), 1);
    }

    #[test]
    fn closing_tells_a_reader_that_found_nothing() {
        let s = BodyStream::new(1024);
        assert_eq!(s.read(&mut [0u8; 8]), Read::Pending);
        assert!(s.close(Error::new(ErrorKind::Cancelled, "cancelled")));
        assert!(!s.close(Error::new(ErrorKind::Cancelled, "again")));
    }

    #[test]
    fn a_blocking_reader_is_not_announced_to() {
        let s = BodyStream::new(16);
        assert_eq!(s.read(&mut [0u8; 4]), Read::Pending);
        assert!(!s.wait(Some(Instant::now())));
        assert!(
            !s.push(Bytes::from_static(b"x")),
            "the armed read was taken by the wait"
        );
        assert_eq!(s.read(&mut [0u8; 4]), Read::Data(1));
        assert_eq!(s.read(&mut [0u8; 4]), Read::Pending);
        assert!(!s.push(Bytes::from_static(b"y")));
        assert!(!s.finish(Ok(()), None));
    }

    #[test]
    fn a_blocked_reader_wakes_on_data_and_times_out_without() {
        let s = Arc::new(BodyStream::new(16));
        let t0 = Instant::now();
        assert!(!s.wait(Some(t0 + std::time::Duration::from_millis(30))));
        assert!(t0.elapsed() >= std::time::Duration::from_millis(30));
        let s2 = s.clone();
        let th = std::thread::spawn(move || s2.wait(None));
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.push(Bytes::from_static(b"x"));
        assert!(th.join().unwrap());
    }
}
