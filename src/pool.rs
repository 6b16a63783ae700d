//! Keep-alive connection pool: idle HTTP/1.1 connections by origin.
//!
//! Each connection is driven by its own long-lived task; the pool holds the sending half.
//! A connection is checked out by one request at a time and returned only after its response
//! body was read to the end, so a cancelled or failed request never leaves a half-read
//! connection for the next one. Dropping a `Conn` (evicted, or its request aborted) aborts
//! its task, which closes the socket at once.
//!
//! HTTP/2 (shared, multiplexed senders) and TLS/proxy/Unix connectors slot in as further
//! `Sender` variants and connect functions without changing the checkout/checkin contract.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Authority;
use http_body_util::Full;
use hyper::client::conn::http1;
use tokio::task::AbortHandle;

/// The origin a connection is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub authority: Authority,
}

pub struct Conn {
    pub(crate) tx: http1::SendRequest<Full<Bytes>>,
    task: AbortHandle,
    /// Served at least one request before this one.
    pub(crate) reused: bool,
}

impl Conn {
    pub fn new(tx: http1::SendRequest<Full<Bytes>>, task: AbortHandle) -> Conn {
        Conn {
            tx,
            task,
            reused: false,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    max_idle_per_host: usize,
    idle_timeout: Option<Duration>,
}

impl Pool {
    pub fn new(max_idle_per_host: usize, idle_timeout: Option<Duration>) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            max_idle_per_host,
            idle_timeout,
        }
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        self.idle_timeout
            .is_some_and(|t| now.duration_since(idle.since) >= t)
    }

    /// The most recently used idle connection to `key` that has not expired or closed.
    /// The caller still awaits its readiness before sending.
    pub fn take(&self, key: &PoolKey) -> Option<Conn> {
        let now = Instant::now();
        let mut map = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.get_mut(key)?;
        while let Some(idle) = list.pop() {
            if !self.expired(&idle, now) && !idle.conn.tx.is_closed() {
                let mut conn = idle.conn;
                conn.reused = true;
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection whose last response was read to the end.
    pub fn put(&self, key: PoolKey, conn: Conn) {
        if conn.tx.is_closed() || self.max_idle_per_host == 0 {
            return;
        }
        let mut map = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(key).or_default();
        if list.len() < self.max_idle_per_host {
            list.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// Closes idle connections past the idle timeout.
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut map = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, list| {
            list.retain(|i| !self.expired(i, now) && !i.conn.tx.is_closed());
            !list.is_empty()
        });
    }

    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn idle_count(&self) -> usize {
        let map = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        map.values().map(Vec::len).sum()
    }
}
