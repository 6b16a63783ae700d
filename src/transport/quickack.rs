//! A TCP stream that acknowledges bulk data at once.
//!
//! A client that sends a request right after reading a response puts its socket into Linux's
//! "ping-pong" mode, where ACKs wait (up to 40 ms) to ride on the next request. A server that
//! holds a response's last partial segment until its previous one is acknowledged (Nagle, or
//! nginx's `tcp_nopush` around sendfile) then stalls for that delayed-ACK timer whenever the
//! client has no next request to send on that connection yet: a batch that waits for all of
//! its responses before submitting more hits it on every round. `make bench` measured
//! `send_many` of 64 KiB bodies at ~0.4 GB/s that way (the server's socket showed one
//! unacknowledged segment and 4 KiB not sent), ~2 GB/s with the ACK sent at once.
//!
//! So the socket is told to acknowledge at once (one `setsockopt`, switching it to quick-ACK
//! mode) only while a request waits for more of a body ([`Traffic`]): after each read of at least
//! [`BULK`] bytes, and when it runs dry after smaller ones. Bytes that arrive with nobody
//! waiting, usually a whole response, are not acknowledged early; if their request then finds
//! the body incomplete it wakes the connection to send that ACK. This covers the other
//! classic stall too: a server with Nagle's algorithm that writes a head and then a small
//! body holds the body until the head is acknowledged. A response that arrives whole pays
//! no system call (acknowledging each bulk read cost ~2.5% of the CPU of a 64 KiB request
//! from Python's AsyncClient). HTTP/2 streams share the socket, so there every bulk read is
//! acknowledged.
//!
//! The same wrapper, without the ACK part, carries a Unix socket: its byte counts are what
//! the read timeouts and the low-speed limit measure, and its write timeout is the same.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Sleep;

/// A read this large means a bulk transfer is under way.
const BULK: usize = 16 * 1024;

/// A socket a connection can run on.
pub(crate) trait Socket: AsyncRead + AsyncWrite + std::os::fd::AsFd + Unpin {
    /// TCP: the peer's ACK timing is ours to steer (quick-ACK mode).
    const ACKS: bool;
}

impl Socket for TcpStream {
    const ACKS: bool = true;
}

impl Socket for UnixStream {
    const ACKS: bool = false;
}

/// A socket (TCP, or Unix) that also counts the bytes it reads and writes in large writes
/// (see `Conn::activity`) and limits how long a write may stay blocked.
pub(crate) struct QuickAck<S: Socket = TcpStream> {
    pub(crate) sock: S,
    /// What the socket and the requests on it tell each other.
    pub(crate) traffic: Arc<Traffic>,
    /// The write timeout's timer, made the first time a write blocks under a limit
    /// (`Traffic::write_limit`).
    limit: Option<Box<WriteLimit>>,
    /// When the socket last took bytes, in ns since `EPOCH` (see `last_write`).
    pub(crate) written: Arc<AtomicU64>,
    /// A write found the socket full since the clock was last set.
    blocked: bool,
    /// The waker `traffic` holds for a request to wake (a clone, to see that it is this
    /// task's: the TLS handshake polls the socket from another).
    parked: Option<Waker>,
}

/// What a connection's socket and the requests on it tell each other: bytes so far, and
/// (HTTP/1.1) about ACKs (see the module's documentation). `waiting` has one writer, the
/// request; `owed`, the connection's task. Each writes its flag, then reads the other's
/// (sequentially consistent), so at least one of them sees both set and the ACK goes.
#[derive(Default)]
pub(crate) struct Traffic {
    /// Bytes read, and bytes of large writes, so far (`Conn::activity`); the requests'
    /// other signs of progress (a body piece handed over) add 1 each. Its changes are the
    /// connection's life for the read timeout; its growth, a speed for the low-speed limit.
    pub(crate) moved: AtomicU64,
    /// A request waits for more of a body.
    waiting: AtomicBool,
    /// Bytes were read and not acknowledged early, and no write has carried an ACK since.
    owed: AtomicBool,
    /// The connection's task while it waits on the socket with an ACK owed; `taken` once a
    /// request has taken it to wake the task.
    waker: AtomicWaker,
    taken: AtomicBool,
    /// HTTP/2: every bulk read is acknowledged, and nothing else is.
    shared: AtomicBool,
    /// The write timeout in ns, 0 for none: the client's, or (HTTP/1.1) that of the request
    /// on the connection (`set_write_limit`).
    write_limit: AtomicU64,
    /// HTTP/2: the server's current limit on concurrent streams (0 until known; see
    /// `conn::Streams`).
    pub(crate) max_streams: AtomicUsize,
}

impl Traffic {
    /// The request found its body's next bytes not there yet. An ACK still owed goes now
    /// (the connection's task is woken to send it), and so do later ones. Cheap when
    /// already waiting: called wherever a body read waits.
    pub(crate) fn waiting(&self) {
        if self.waiting.load(Ordering::Relaxed) {
            return;
        }
        self.waiting.store(true, Ordering::SeqCst);
        if self.owed.load(Ordering::SeqCst) {
            self.taken.store(true, Ordering::SeqCst);
            self.waker.wake();
        }
    }

    /// The body ended: the connection's next response starts with nobody waiting.
    pub(crate) fn done(&self) {
        if self.waiting.load(Ordering::Relaxed) {
            self.waiting.store(false, Ordering::Relaxed);
        }
    }

    /// The longest a write may stay blocked from now on (None: no limit). HTTP/1.1 sets the
    /// limit of each request as it takes the connection; an HTTP/2 socket keeps the client's,
    /// its streams being many.
    pub(crate) fn set_write_limit(&self, limit: Option<Duration>) {
        let ns = limit.map_or(0, |d| {
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        if self.write_limit.load(Ordering::Relaxed) != ns {
            self.write_limit.store(ns, Ordering::Relaxed);
        }
    }

    /// HTTP/2: streams share the socket, so every bulk read is acknowledged at once.
    pub(crate) fn always(&self) {
        self.shared.store(true, Ordering::Relaxed);
    }
}

/// The process has fork()ed (set by the C layer's fork handlers, in parent and child).
pub(crate) static FORKED: AtomicBool = AtomicBool::new(false);

impl<S: Socket> Drop for QuickAck<S> {
    fn drop(&mut self) {
        // A forked child holds a copy of this socket; closing ours alone would leave the
        // connection open (no FIN to the server) until the child exits. A shutdown ends it
        // now whoever holds copies. (Only after a fork: it costs a system call.)
        if FORKED.load(Ordering::Relaxed) {
            let _ = rustix::net::shutdown(&self.sock, rustix::net::Shutdown::Both);
        }
    }
}

/// The zero of the write clock (`last_write`).
static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();

pub(super) fn epoch() -> tokio::time::Instant {
    *EPOCH.get_or_init(tokio::time::Instant::now)
}

/// Set in the write clock once the write timeout failed a write. HTTP/2 may then fail the
/// connection's streams with a bare broken pipe (h2 drops a write error's cause when it
/// happens while flushing), so the request asks the connection why ([`timed_out`]).
const TIMED_OUT: u64 = 1 << 63;

/// When a socket whose write clock read `clock` last took bytes that took time (see
/// `QuickAck::after_write`); None before any. For a request, when its writing ended.
pub(crate) fn last_write(clock: u64) -> Option<std::time::Instant> {
    match clock & !TIMED_OUT {
        0 => None,
        ns => Some((epoch() + Duration::from_nanos(ns)).into_std()),
    }
}

/// The write timeout: armed when a write finds the socket's buffer full, disarmed by the
/// next write that goes through.
struct WriteLimit {
    /// The limit the armed timer stands for.
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

/// The cause inside the `io::Error` a write that stayed blocked too long fails with
/// (`map_hyper` turns it into `ErrorKind::WriteTimeout`; see [`is_write_timeout`]).
#[derive(Debug)]
pub(crate) struct WriteTimedOut(pub(crate) Duration);

// Of a write error h2 meets while reading (answering a PING, say), it keeps the kind and the
// text for the streams: the text is how it is recognised there ([`is_write_timeout`]).
const SAYS: &str = "the server took no data for ";
const ENDS: &str = " (write timeout)";

impl std::fmt::Display for WriteTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SAYS}{:?}{ENDS}", self.0)
    }
}

impl std::error::Error for WriteTimedOut {}

/// Whether a write on the socket whose write clock reads `clock` failed with the write timeout.
pub(crate) fn timed_out(clock: u64) -> bool {
    clock & TIMED_OUT != 0
}

/// Whether `e`, or an error in its source chain, is a write that stayed blocked past the
/// write timeout: a [`WriteTimedOut`] in an `io::Error` (HTTP/1.1), or the io error h2 makes
/// of one (same kind, the cause flattened to its text), which h2 keeps out of the chain.
pub(crate) fn is_write_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let from_io = |io: &io::Error| match io.get_ref() {
        Some(inner) if inner.is::<WriteTimedOut>() => true,
        Some(inner) if io.kind() == io::ErrorKind::TimedOut => {
            let text = inner.to_string();
            text.starts_with(SAYS) && text.ends_with(ENDS)
        }
        _ => false,
    };
    let mut next = Some(e);
    while let Some(s) = next {
        if s.is::<WriteTimedOut>()
            || s.downcast_ref::<io::Error>().is_some_and(from_io)
            || s.downcast_ref::<h2::Error>()
                .and_then(h2::Error::get_io)
                .is_some_and(from_io)
        {
            return true;
        }
        next = s.source();
    }
    false
}

impl<S: Socket> QuickAck<S> {
    pub(crate) fn new(stream: S, write_timeout: Option<Duration>) -> QuickAck<S> {
        epoch();
        let traffic = Arc::new(Traffic::default());
        traffic.set_write_limit(write_timeout);
        QuickAck {
            sock: stream,
            traffic,
            limit: None,
            written: Arc::default(),
            blocked: false,
            parked: None,
        }
    }

    /// Parked with an ACK owed: a request that starts waiting wakes this task to send it.
    /// The waker stays in place across responses until a request takes it; one may have
    /// started waiting before it was in place, hence the look at `waiting` after.
    #[cfg(target_os = "linux")]
    fn park(&mut self, cx: &mut Context<'_>) {
        let t = &*self.traffic;
        let ours = self
            .parked
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if !ours || t.taken.load(Ordering::SeqCst) {
            t.taken.store(false, Ordering::SeqCst);
            t.waker.register(cx.waker());
            self.parked = Some(cx.waker().clone());
        }
        if t.waiting.load(Ordering::SeqCst) {
            self.ack_now();
        }
    }

    /// Sends the ACK for what was read (quick-ACK mode also sends any delayed one now).
    #[cfg(target_os = "linux")]
    fn ack_now(&self) {
        // Best effort: a socket that refuses it just keeps the kernel's ACK timing.
        let _ = rustix::net::sockopt::set_tcp_quickack(&self.sock, true);
        if self.traffic.owed.load(Ordering::Relaxed) {
            self.traffic.owed.store(false, Ordering::Relaxed);
        }
    }

    /// Sets the write clock and applies the write timeout after a write.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &r {
            // The clock is read only for writes that can take time: a large one, or the
            // first after the socket was full. A small request the socket takes at once
            // leaves the clock alone (its write counts as instantaneous).
            if *n >= BULK || self.blocked {
                self.blocked = false;
                // At least 1: 0 means "never written".
                let ns = epoch().elapsed().as_nanos().max(1) as u64;
                self.written.store(ns, Ordering::Relaxed);
                // Progress of a large body counts as activity: the head's read timeout is
                // the server's silence after the request has gone, not the upload's length.
                let moved = &self.traffic.moved;
                moved.store(
                    moved.load(Ordering::Relaxed).wrapping_add(*n as u64),
                    Ordering::Relaxed,
                );
            }
            // Data sent carries the ACK.
            if *n > 0 && self.traffic.owed.load(Ordering::Relaxed) {
                self.traffic.owed.store(false, Ordering::Relaxed);
            }
        } else if r.is_pending() {
            self.blocked = true;
        }
        // A write that went through, or a socket without a limit, disarms the timer.
        let ns = match r.is_ready() {
            true => 0,
            false => self.traffic.write_limit.load(Ordering::Relaxed),
        };
        if ns == 0 {
            if let Some(w) = self.limit.as_deref_mut() {
                w.armed = false;
            }
            return r;
        }
        let limit = Duration::from_nanos(ns);
        let w = match &mut self.limit {
            // Armed by the first blocked write; a new limit (the next request's) re-arms it.
            Some(w) => {
                if !w.armed || w.limit != limit {
                    w.timer.as_mut().reset(tokio::time::Instant::now() + limit);
                }
                w
            }
            None => self.limit.insert(Box::new(WriteLimit {
                limit,
                timer: Box::pin(tokio::time::sleep(limit)),
                armed: false,
            })),
        };
        w.limit = limit;
        w.armed = true;
        if w.timer.as_mut().poll(cx).is_ready() {
            self.written.fetch_or(TIMED_OUT, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                WriteTimedOut(limit),
            )));
        }
        Poll::Pending
    }
}

impl<S: Socket> AsyncRead for QuickAck<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.sock).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            // One writer (the connection's task): a plain store, no atomic add.
            let moved = &self.traffic.moved;
            moved.store(
                moved.load(Ordering::Relaxed).wrapping_add(n as u64),
                Ordering::Relaxed,
            );
        }
        // TCP on Linux only (other systems have no quick-ACK switch; their ACK timing stays).
        #[cfg(target_os = "linux")]
        if S::ACKS {
            let t = &*self.traffic;
            if t.shared.load(Ordering::Relaxed) {
                if n >= BULK {
                    self.ack_now();
                }
            } else if n >= BULK && t.waiting.load(Ordering::Relaxed) {
                self.ack_now();
            } else if n > 0 {
                if !t.owed.load(Ordering::Relaxed) {
                    t.owed.store(true, Ordering::SeqCst);
                }
            } else if polled.is_pending() && t.owed.load(Ordering::Relaxed) {
                self.park(cx);
            }
        }
        polled
    }
}

impl<S: Socket> AsyncWrite for QuickAck<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.sock).poll_write(cx, buf);
        self.after_write(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // One buffer (a request head, a small request): send(2) is cheaper than writev(2).
        let r = match bufs {
            [one] => Pin::new(&mut self.sock).poll_write(cx, one),
            _ => Pin::new(&mut self.sock).poll_write_vectored(cx, bufs),
        };
        self.after_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.sock.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sock).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.sock).poll_shutdown(cx)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_write_timeout_is_recognised_whole_or_as_the_text_http2_keeps() {
        let limit = Duration::from_millis(300);
        let whole = io::Error::new(io::ErrorKind::TimedOut, WriteTimedOut(limit));
        assert!(is_write_timeout(&whole));
        // What h2 makes of it: the kind, and the cause as text.
        let flat = io::Error::new(io::ErrorKind::TimedOut, WriteTimedOut(limit).to_string());
        assert!(is_write_timeout(&flat));
        let other = io::Error::new(io::ErrorKind::TimedOut, "connection timed out");
        assert!(!is_write_timeout(&other));
        let kind = io::Error::new(io::ErrorKind::BrokenPipe, WriteTimedOut(limit).to_string());
        assert!(!is_write_timeout(&kind));
    }

    /// Whether the socket is in quick-ACK mode (not ping-pong).
    fn quick(s: &TcpStream) -> bool {
        rustix::net::sockopt::tcp_quickack(s).unwrap()
    }

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(std::sync::atomic::AtomicUsize);
    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls one read that finds nothing: the connection's task parked on the socket.
    fn park(c: &mut QuickAck, wakes: &Arc<Count>) {
        let waker = std::task::Waker::from(wakes.clone());
        let mut buf = [0u8; 16];
        let mut rb = ReadBuf::new(&mut buf);
        let r = Pin::new(c).poll_read(&mut Context::from_waker(&waker), &mut rb);
        assert!(r.is_pending(), "nothing more was sent");
    }

    /// Request/response exchanges put a socket into ping-pong mode. A bulk read with a
    /// request waiting for more of its body takes it out again at once; one that came with
    /// nobody waiting (a whole response) leaves it, until a request starts waiting, which
    /// wakes the parked connection to send the ACK. Small reads leave it.
    #[tokio::test]
    async fn bulk_reads_are_acknowledged_once_a_body_waits() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 4];
            for size in [100usize, 100, 100, 64 * 1024, 64 * 1024, 64 * 1024] {
                s.read_exact(&mut req).await.unwrap();
                s.write_all(&vec![b'x'; size]).await.unwrap();
            }
            s.read_exact(&mut req).await.unwrap();
        });
        let mut c = QuickAck::new(TcpStream::connect(addr).await.unwrap(), None);
        let mut buf = vec![0u8; 128 * 1024];
        let mut exchange = async |c: &mut QuickAck, size: usize| {
            c.write_all(b"ping").await.unwrap();
            let mut got = 0;
            while got < size {
                let n = c.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got += n;
            }
        };
        for _ in 0..3 {
            exchange(&mut c, 100).await;
        }
        assert!(!quick(&c.sock), "small exchanges leave ping-pong mode");

        // A whole response, nobody waiting: no ACK forced.
        exchange(&mut c, 64 * 1024).await;
        let wakes = Arc::new(Count::default());
        park(&mut c, &wakes);
        assert!(!quick(&c.sock), "a bulk read nobody waits on forces no ACK");
        // Its request finds the body incomplete: the parked connection is woken, and its
        // next poll sends the ACK.
        c.traffic.waiting();
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "the parked connection is woken"
        );
        park(&mut c, &wakes);
        assert!(quick(&c.sock), "the woken connection acknowledges");
        c.traffic.done();

        // The request starts waiting before the connection parks (its wake finds no waker):
        // the connection sees it when it parks.
        exchange(&mut c, 64 * 1024).await;
        assert!(!quick(&c.sock));
        c.traffic.waiting();
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            2,
            "the waker registered on the last parking stayed in place"
        );
        park(&mut c, &wakes);
        assert!(
            quick(&c.sock),
            "a request already waiting is seen on parking"
        );

        // While a request waits, a bulk read is acknowledged as it comes.
        exchange(&mut c, 64 * 1024).await;
        assert!(
            quick(&c.sock),
            "bulk reads are acknowledged while a body waits"
        );
        c.traffic.done();
        c.write_all(b"done").await.unwrap();
        server.await.unwrap();
    }
}
