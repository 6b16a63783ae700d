//! The connection pool, per origin.
//!
//! HTTP/1.1 connections carry one request at a time: a request takes an idle one and puts it
//! back only after its response body was read to the end, so a cancelled or failed request
//! never leaves a half-read connection for the next. The task that ran the request usually
//! parks with the connection (`worker.rs`); the dispatcher then hands it the next request
//! for the origin with `take_parked`. HTTP/2 connections are shared: a
//! request clones the sender of the origin's live connection and gives nothing back.
//! While the first connection to an origin that may speak HTTP/2 is being opened, other
//! requests for it wait (the connect gate) rather than each opening their own.
//!
//! Every connection is driven by its own task; dropping the last owner of that task (an
//! evicted idle entry, a request that failed or was cancelled mid-response) aborts it,
//! which closes the socket at once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Authority;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2, TrySendError};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use crate::worker::Mailbox;

type Body = Full<Bytes>;

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

pub enum Sender {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

/// Aborts a connection's task when dropped.
struct TaskGuard(AbortHandle);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Conn {
    sender: Sender,
    /// HTTP/1.1: owned here. HTTP/2: shared with the pool's entry.
    task: Arc<TaskGuard>,
    /// Served a request before this one (a stale keep-alive connection may be retried).
    pub(crate) reused: bool,
    /// Requests go to an HTTP proxy in absolute form.
    pub(crate) absolute_form: bool,
    /// HTTP/1.1: the read-timeout timer, kept across the connection's requests. Moving a
    /// registered timer's deadline later is one atomic store in tokio; a new timer per request
    /// costs a timer-wheel insertion and removal (≈3% of a small request's instructions).
    pub(crate) read_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Conn {
    pub fn new(sender: Sender, task: AbortHandle, absolute_form: bool) -> Conn {
        Conn {
            sender,
            task: Arc::new(TaskGuard(task)),
            reused: false,
            absolute_form,
            read_timer: None,
        }
    }

    pub fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }

    fn is_closed(&self) -> bool {
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

    fn share(&self) -> Option<Conn> {
        match &self.sender {
            Sender::H2(s) => Some(Conn {
                sender: Sender::H2(s.clone()),
                task: self.task.clone(),
                reused: true,
                absolute_form: self.absolute_form,
                read_timer: None,
            }),
            Sender::H1(_) => None,
        }
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

struct Idle {
    conn: Conn,
    since: Instant,
    /// The request task parked with this connection, waiting for its next request.
    worker: Arc<Mailbox>,
}

impl Idle {
    /// Tells the parked worker that its connection is gone from the pool.
    fn dismiss(&self) {
        self.worker.dismiss();
    }
}

/// What a request should do when it finds no usable connection.
pub enum Gate {
    /// Open the connection; others wait until the guard is dropped.
    Lead(GateGuard),
    /// Someone else is opening one: wait for this, then look again.
    Wait(Arc<Semaphore>),
}

pub struct GateGuard {
    pool: Arc<Pool>,
    key: PoolKey,
    done: Arc<Semaphore>,
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.pool.lock().connecting.remove(&self.key);
        // Closing wakes every waiter, including ones that arrive later.
        self.done.close();
    }
}

/// Idle HTTP/1.1 connections per origin. The origin used last keeps its list out of the map:
/// a client busy with one origin finds it without hashing the key (twice a request).
#[derive(Default)]
struct IdleLists {
    hot: Option<(PoolKey, Vec<Idle>)>,
    rest: HashMap<PoolKey, Vec<Idle>>,
}

impl IdleLists {
    fn get_mut(&mut self, key: &PoolKey) -> Option<&mut Vec<Idle>> {
        match &mut self.hot {
            Some((k, list)) if k == key => Some(list),
            _ => self.rest.get_mut(key),
        }
    }

    /// The list to add a connection to `key` to; `key` becomes the hot origin when the hot
    /// list is empty (a key is in `hot` or in `rest`, never both).
    fn list_for(&mut self, key: PoolKey) -> &mut Vec<Idle> {
        let is_hot = matches!(&self.hot, Some((k, _)) if *k == key);
        if !is_hot {
            if self.hot.as_ref().is_some_and(|(_, list)| !list.is_empty()) {
                return self.rest.entry(key).or_default();
            }
            let list = self.rest.remove(&key).unwrap_or_default();
            self.hot = Some((key, list));
        }
        &mut self.hot.as_mut().expect("hot origin set above").1
    }

    fn lists_mut(&mut self) -> impl Iterator<Item = &mut Vec<Idle>> {
        self.hot
            .iter_mut()
            .map(|(_, list)| list)
            .chain(self.rest.values_mut())
    }

    fn retain(&mut self, mut keep: impl FnMut(&mut Idle) -> bool) {
        if let Some((_, list)) = &mut self.hot {
            list.retain_mut(&mut keep);
        }
        self.rest.retain(|_, list| {
            list.retain_mut(&mut keep);
            !list.is_empty()
        });
    }

    fn clear(&mut self) {
        self.hot = None;
        self.rest.clear();
    }

    fn count(&self) -> usize {
        self.hot.as_ref().map_or(0, |(_, list)| list.len())
            + self.rest.values().map(Vec::len).sum::<usize>()
    }
}

#[derive(Default)]
struct Inner {
    idle: IdleLists,
    shared: HashMap<PoolKey, (Conn, Instant)>,
    connecting: HashMap<PoolKey, Arc<Semaphore>>,
    /// Origins that answered ALPN with HTTP/1.1: no point waiting for a shared connection.
    http1_only: HashSet<PoolKey>,
}

pub struct Pool {
    inner: Mutex<Inner>,
    max_idle_per_host: usize,
    idle_timeout: Option<Duration>,
}

impl Pool {
    pub fn new(max_idle_per_host: usize, idle_timeout: Option<Duration>) -> Pool {
        Pool {
            inner: Mutex::new(Inner::default()),
            max_idle_per_host,
            idle_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expired(&self, since: Instant, now: Instant) -> bool {
        self.idle_timeout
            .is_some_and(|t| now.duration_since(since) >= t)
    }

    /// A live shared (HTTP/2) connection, or the most recently used idle HTTP/1.1 one that
    /// has not expired. The caller still awaits `ready` before sending.
    pub fn take(&self, key: &PoolKey) -> Option<Conn> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.shared.is_empty() {
            // HTTP/1.1 only so far: skip hashing the key for the shared map.
        } else if let Some((conn, last)) = inner.shared.get_mut(key) {
            if !conn.is_closed() {
                *last = now;
                return conn.share();
            }
            inner.shared.remove(key);
        }
        let list = inner.idle.get_mut(key)?;
        while let Some(idle) = list.pop() {
            idle.dismiss();
            if !self.expired(idle.since, now) && !idle.conn.is_closed() {
                let mut conn = idle.conn;
                conn.reused = true;
                return Some(conn);
            }
        }
        None
    }

    /// The most recently parked worker for `key` with its connection (one that has not
    /// expired or closed).
    pub fn take_parked(&self, key: &PoolKey, now: Instant) -> Option<(Arc<Mailbox>, Conn)> {
        let mut inner = self.lock();
        let list = inner.idle.get_mut(key)?;
        while let Some(idle) = list.pop() {
            if self.expired(idle.since, now) || idle.conn.is_closed() {
                idle.dismiss();
                continue;
            }
            let mut conn = idle.conn;
            conn.reused = true;
            return Some((idle.worker, conn));
        }
        None
    }

    /// Returns an HTTP/1.1 connection whose last response was read to the end, with the
    /// worker that parks with it. False if the pool did not keep it (the worker should end).
    pub fn put(&self, key: PoolKey, conn: Conn, worker: Arc<Mailbox>, now: Instant) -> bool {
        if conn.is_h2() || conn.is_closed() || self.max_idle_per_host == 0 {
            return false;
        }
        let mut inner = self.lock();
        let list = inner.idle.list_for(key);
        if list.len() >= self.max_idle_per_host {
            return false;
        }
        list.push(Idle {
            conn,
            since: now,
            worker,
        });
        true
    }

    /// Keeps a new HTTP/2 connection for sharing and returns a handle on it for the caller.
    pub fn share(&self, key: PoolKey, conn: Conn) -> Conn {
        let mine = conn.share().expect("HTTP/2 connection");
        self.lock().shared.insert(key, (conn, Instant::now()));
        mine
    }

    /// Decides who opens the next connection to an origin that may be shared.
    pub fn gate(self: &Arc<Self>, key: &PoolKey) -> Option<Gate> {
        let mut inner = self.lock();
        if inner.http1_only.contains(key) {
            return None;
        }
        if let Some(sem) = inner.connecting.get(key) {
            return Some(Gate::Wait(sem.clone()));
        }
        let done = Arc::new(Semaphore::new(0));
        inner.connecting.insert(key.clone(), done.clone());
        Some(Gate::Lead(GateGuard {
            pool: self.clone(),
            key: key.clone(),
            done,
        }))
    }

    pub fn note_http1(&self, key: &PoolKey) {
        self.lock().http1_only.insert(key.clone());
    }

    /// Closes idle HTTP/1.1 connections past the idle timeout, and closed or idle shared ones.
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.idle.retain(|i| {
            let keep = !self.expired(i.since, now) && !i.conn.is_closed();
            if !keep {
                i.dismiss();
            }
            keep
        });
        inner.shared.retain(|_, (conn, last)| {
            // Only the pool's own reference left means no request is using it.
            let in_use = Arc::strong_count(&conn.task) > 1;
            !conn.is_closed() && (in_use || !self.expired(*last, now))
        });
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        for idle in inner.idle.lists_mut().flatten() {
            idle.dismiss();
        }
        inner.idle.clear();
        inner.shared.clear();
    }

    pub fn idle_count(&self) -> usize {
        let inner = self.lock();
        inner.idle.count() + inner.shared.len()
    }
}
