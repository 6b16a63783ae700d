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
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::worker::Mailbox;
use crate::transport::{Conn, PoolKey};

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
            let in_use = conn.shared_elsewhere();
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
