//! A connection as requests see it: the origin it is bound to, and hyper's sender for
//! either protocol together with the task that drives the socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::uri::Authority;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2, TrySendError};
use hyper_util::rt::TokioExecutor;
use tokio::task::AbortHandle;

use super::quickack::Traffic;

/// A request body: bytes in hand (nearly every request), or a stream the caller feeds.
/// The same size as hyper's `Full<Bytes>` (an empty `Bytes` is "sent"; the stream lives in
/// the room beside `Bytes`'s non-null vtable pointer), so requests without a stream move
/// through hyper as cheaply as before.
pub enum Body {
    Full(Bytes),
    Stream(Stream),
}

const _: () = assert!(std::mem::size_of::<Body>() == std::mem::size_of::<Full<Bytes>>());

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = crate::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, crate::Error>>> {
        match self.get_mut() {
            Body::Full(b) if b.is_empty() => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(Some(Ok(hyper::body::Frame::data(std::mem::take(b))))),
            Body::Stream(b) => poll_stream(b, cx),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_empty(),
            Body::Stream(b) => stream_ended(b),
        }
    }

    #[inline]
    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(b) => hyper::body::SizeHint::with_exact(b.len() as u64),
            Body::Stream(b) => stream_size(b),
        }
    }
}

// Out of line: hyper's request loop stays as small as it is for `Full<Bytes>`.
type Stream = Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = crate::Error> + Send>>;

#[cold]
#[inline(never)]
fn poll_stream(
    b: &mut Stream,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<hyper::body::Frame<Bytes>, crate::Error>>> {
    b.as_mut().poll_frame(cx)
}

#[cold]
#[inline(never)]
fn stream_ended(b: &Stream) -> bool {
    b.is_end_stream()
}

#[cold]
#[inline(never)]
fn stream_size(b: &Stream) -> hyper::body::SizeHint {
    b.size_hint()
}

/// Makes `body` say when hyper lets go of it: the returned flag is set then. Over HTTP/2
/// hyper pipes a body into its stream once the stream has window, a frame at a time, and
/// drops it after its last frame went to h2, which may still hold bytes of it for the
/// socket (a body in hand is one frame, held whole).
pub(crate) fn watch_handed(body: &mut Body) -> Arc<AtomicBool> {
    let handed = Arc::new(AtomicBool::new(false));
    let inner = std::mem::replace(body, Body::Full(Bytes::new()));
    *body = Body::Stream(Box::pin(Handed {
        body: inner,
        handed: handed.clone(),
    }));
    handed
}

/// See [`watch_handed`].
struct Handed {
    body: Body,
    handed: Arc<AtomicBool>,
}

impl Drop for Handed {
    fn drop(&mut self) {
        self.handed.store(true, Ordering::Release);
    }
}

impl hyper::body::Body for Handed {
    type Data = Bytes;
    type Error = crate::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, crate::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The size of a body that holds `held` bytes back from `inner`'s frames (a wrapper cutting
/// frames into pieces).
pub(crate) fn hint_with_held(inner: hyper::body::SizeHint, held: usize) -> hyper::body::SizeHint {
    let mut hint = hyper::body::SizeHint::new();
    hint.set_lower(inner.lower() + held as u64);
    if let Some(upper) = inner.upper() {
        hint.set_upper(upper + held as u64);
    }
    hint
}

/// The origin a connection is bound to.
#[derive(Clone, Debug, Eq)]
pub struct PoolKey {
    pub https: bool,
    pub authority: Authority,
}

impl PartialEq for PoolKey {
    /// Byte equality first (the usual case: the same URL text), then the case-insensitive
    /// comparison `Authority` does a byte at a time.
    fn eq(&self, other: &PoolKey) -> bool {
        self.https == other.https
            && (self.authority.as_str() == other.authority.as_str()
                || self.authority == other.authority)
    }
}

impl std::hash::Hash for PoolKey {
    /// One FNV-1a pass over the lower-cased authority, then one write: `Authority`'s own
    /// hash feeds the hasher a byte at a time, which costs a thousand instructions a lookup.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut x: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.authority.as_str().bytes() {
            x = (x ^ b.to_ascii_lowercase() as u64).wrapping_mul(0x0100_0000_01b3);
        }
        state.write_u64(x ^ self.https as u64);
    }
}

impl PoolKey {
    /// The host without IPv6 brackets.
    pub fn host(&self) -> &str {
        let h = self.authority.host();
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(h)
    }

    pub fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.https { 443 } else { 80 })
    }
}

/// Something a connection keeps until its socket is closed (its place under the client's
/// connection caps).
pub type Hold = Box<dyn Send + Sync>;

pin_project_lite::pin_project! {
    /// A connection's driving future with what it holds: fields drop in order, so the
    /// connection goes before `hold` is let go (whether it ended or its task was aborted).
    /// HTTP/1.1: that closes the socket. HTTP/2: hyper drives the socket in a task of its
    /// own, which ends once this one has (a graceful close may outlive `hold` briefly).
    pub(crate) struct Driven<F> {
        #[pin]
        fut: F,
        hold: Option<Hold>,
    }
}

impl<F> Driven<F> {
    pub(crate) fn new(fut: F, hold: Option<Hold>) -> Driven<F> {
        Driven { fut, hold }
    }
}

impl<F: Future> Future for Driven<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().fut.poll(cx).map(|_| ())
    }
}

pub enum Sender {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

/// Aborts a connection's task when dropped.
struct TaskGuard(AbortHandle);

/// How a connection was made and what it negotiated (for a request's timing record).
#[derive(Debug, Default)]
pub struct ConnFacts {
    /// The peer's address (None for a Unix socket); the proxy's when going through one.
    pub remote: Option<std::net::SocketAddr>,
    /// Name resolution, TCP connect (and proxy handshake), TLS handshake.
    pub dns: std::time::Duration,
    pub connect: std::time::Duration,
    pub tls: std::time::Duration,
    /// The TLS version as on the wire (0x0303: 1.2, 0x0304: 1.3); 0 without TLS.
    pub tls_version: u16,
    /// The protocol ALPN chose ("h2", "http/1.1"), if any.
    pub alpn: Option<&'static str>,
    /// When the socket last took bytes (see `quickack::last_write`).
    pub(crate) written: Option<Arc<AtomicU64>>,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Conn {
    sender: Sender,
    /// HTTP/1.1: owned here. HTTP/2: shared with the pool's entry.
    task: Arc<TaskGuard>,
    /// How it was made (kept apart from `task`: a response may keep these after the
    /// connection closed).
    facts: Arc<ConnFacts>,
    /// Served a request before this one (a stale keep-alive connection may be retried).
    pub(crate) reused: bool,
    /// Requests go to an HTTP proxy in absolute form.
    pub(crate) absolute_form: bool,
    /// `Proxy-Authorization` for those absolute-form requests (the proxy URL's user info).
    /// Boxed: a `Conn` is moved with every request, and this is almost always None.
    pub(crate) proxy_auth: Option<Box<http::HeaderValue>>,
    /// Bytes read on the socket so far, and bytes of large writes, counted by the socket's
    /// wrapper (`QuickAck`, TCP or Unix): the head's read timeout measures silence with it.
    /// Also where a body read says it waits, for the socket's ACKs (`quickack`).
    pub(crate) activity: Option<Arc<Traffic>>,
    /// HTTP/1.1: the read-timeout timer, kept across the connection's requests. Moving a
    /// registered timer's deadline later is one atomic store in tokio; a new timer per request
    /// costs a timer-wheel insertion and removal (≈3% of a small request's instructions).
    pub(crate) read_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Conn {
    pub fn new(sender: Sender, task: AbortHandle, absolute_form: bool, facts: ConnFacts) -> Conn {
        Conn {
            sender,
            task: Arc::new(TaskGuard(task)),
            facts: Arc::new(facts),
            reused: false,
            absolute_form,
            proxy_auth: None,
            activity: None,
            read_timer: None,
        }
    }

    /// How the connection was made and what it negotiated.
    pub fn facts(&self) -> &Arc<ConnFacts> {
        &self.facts
    }

    pub fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }

    /// A write on this connection's socket failed with the write timeout.
    pub(crate) fn write_timed_out(&self) -> bool {
        let clock = self.facts.written.as_deref();
        clock.is_some_and(|c| super::quickack::timed_out(c.load(Ordering::Relaxed)))
    }

    pub(crate) fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    /// Waits until the connection can take a request; false if it has closed.
    pub async fn ready(&mut self) -> bool {
        match &mut self.sender {
            Sender::H1(s) => s.ready().await.is_ok(),
            Sender::H2(s) => s.ready().await.is_ok(),
        }
    }

    /// Sends `req`; the future resolves to the response head. A plain function, not an
    /// `async fn`, which would hold the request twice (as argument and inside hyper's future).
    pub fn send(
        &mut self,
        req: http::Request<Body>,
    ) -> Sending<
        impl Future<Output = SendResult> + Send + 'static,
        impl Future<Output = SendResult> + Send + 'static,
    > {
        match &mut self.sender {
            Sender::H1(s) => Sending::H1 {
                fut: s.try_send_request(req),
            },
            Sender::H2(s) => Sending::H2 {
                fut: s.try_send_request(req),
            },
        }
    }

    /// HTTP/2 (on a socket that counts its traffic): what tells whether a request on this
    /// connection may still wait for a stream.
    pub(crate) fn streams(&self) -> Option<Streams<'_>> {
        match (&self.sender, self.activity.as_deref()) {
            (Sender::H2(_), Some(traffic)) => Some(Streams {
                task: &self.task,
                traffic,
                written: self.facts.written.as_deref(),
            }),
            _ => None,
        }
    }

    /// Another `Conn` shares this connection (an HTTP/2 request in flight on it).
    pub(crate) fn shared_elsewhere(&self) -> bool {
        Arc::strong_count(&self.task) > 1
    }

    pub(crate) fn share(&self) -> Option<Conn> {
        match &self.sender {
            Sender::H2(s) => Some(Conn {
                sender: Sender::H2(s.clone()),
                task: self.task.clone(),
                facts: self.facts.clone(),
                reused: true,
                absolute_form: self.absolute_form,
                proxy_auth: self.proxy_auth.clone(),
                activity: self.activity.clone(),
                read_timer: None,
            }),
            Sender::H1(_) => None,
        }
    }
}

/// An HTTP/2 connection's requests against the server's limit on streams (see
/// [`Conn::streams`]).
pub(crate) struct Streams<'a> {
    task: &'a Arc<TaskGuard>,
    traffic: &'a Traffic,
    /// The socket's write clock (`ConnFacts::written`).
    written: Option<&'a AtomicU64>,
}

impl Streams<'_> {
    /// More requests use the connection than the server lets it have streams open, so some
    /// may wait for one (h2 opens them in order as streams end). Each request holds a `Conn`
    /// from when it takes the connection until its response was read (or its streamed body
    /// dropped), the pool one more; the limit is unknown (0) until the connection's task has
    /// run.
    pub(crate) fn full(&self) -> bool {
        Arc::strong_count(self.task) - 1 > self.traffic.max_streams.load(Ordering::Relaxed)
    }

    /// When the socket last took a large write (or one after it was full): the clock
    /// `quickack` sets, read as a count that moves with each.
    pub(crate) fn writes(&self) -> u64 {
        self.written.map_or(0, |w| w.load(Ordering::Relaxed))
    }
}

/// An HTTP/2 connection's future that notes the server's current limit on streams in the
/// socket's `Traffic` each time it runs (for [`Streams::full`]).
pub(crate) struct NoteStreams<F> {
    pub(crate) conn: F,
    pub(crate) traffic: Arc<Traffic>,
}

impl<T> Future for NoteStreams<http2::Connection<T, Body, TokioExecutor>>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    type Output = hyper::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.conn).poll(cx);
        let max = this.conn.current_max_send_streams();
        if this.traffic.max_streams.load(Ordering::Relaxed) != max {
            this.traffic.max_streams.store(max, Ordering::Relaxed);
        }
        r
    }
}

type SendResult = Result<http::Response<Incoming>, TrySendError<http::Request<Body>>>;

pin_project_lite::pin_project! {
    /// The response future of either protocol's sender (see [`Conn::send`]).
    #[project = SendingProj]
    pub enum Sending<A, B> {
        H1 { #[pin] fut: A },
        H2 { #[pin] fut: B },
    }
}

impl<A: Future<Output = SendResult>, B: Future<Output = SendResult>> Future for Sending<A, B> {
    type Output = SendResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SendResult> {
        match self.project() {
            SendingProj::H1 { fut } => fut.poll(cx),
            SendingProj::H2 { fut } => fut.poll(cx),
        }
    }
}

/// Real connections for the unit tests of the layers above (pool, dispatch).
#[cfg(test)]
pub(crate) mod test_support {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use hyper_util::rt::TokioIo;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    use super::{Body, Conn, ConnFacts, PoolKey, Sender};

    /// A listener on 127.0.0.1 that accepts connections and holds them open, never
    /// answering: enough for hyper's HTTP/1.1 handshake, which sends nothing.
    pub(crate) struct Silent {
        pub(crate) addr: SocketAddr,
        accepted: Arc<Mutex<Vec<TcpStream>>>,
        task: JoinHandle<()>,
    }

    impl Silent {
        pub(crate) async fn start() -> Silent {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local addr");
            let accepted = Arc::new(Mutex::new(Vec::new()));
            let held = accepted.clone();
            let task = tokio::spawn(async move {
                while let Ok((s, _)) = listener.accept().await {
                    held.lock().unwrap().push(s);
                }
            });
            Silent {
                addr,
                accepted,
                task,
            }
        }

        /// The origin key for this server (`http://127.0.0.1:port`).
        pub(crate) fn key(&self) -> PoolKey {
            PoolKey {
                https: false,
                authority: self.addr.to_string().parse().expect("authority"),
            }
        }

        /// Connections accepted so far.
        pub(crate) fn accepted(&self) -> usize {
            self.accepted.lock().unwrap().len()
        }

        /// A new HTTP/1.1 connection to this server, driven by its own task (as
        /// `connect::handshake` makes them).
        pub(crate) async fn conn(&self) -> Conn {
            let stream = TcpStream::connect(self.addr).await.expect("connect");
            let (tx, conn) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream))
                .await
                .expect("HTTP/1.1 handshake");
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Conn::new(
                Sender::H1(tx),
                task.abort_handle(),
                false,
                ConnFacts::default(),
            )
        }
    }

    /// Aborts the task driving `conn`, as if its socket had died.
    pub(crate) fn kill(conn: &Conn) {
        conn.task.0.abort();
    }

    impl Drop for Silent {
        fn drop(&mut self) {
            self.task.abort();
        }
    }
}
