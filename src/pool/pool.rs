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

use super::limit::{Limiter, Returned};
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
    /// Most idle connections kept across origins (None: no cap but the per-host one).
    max_idle: Option<usize>,
    idle_timeout: Option<Duration>,
    /// Caps on open connections (None: no caps).
    limiter: Option<Arc<Limiter>>,
}

/// How many connections a pool keeps and may open.
#[derive(Copy, Clone, Debug, Default)]
pub struct PoolLimits {
    pub max_idle_per_host: usize,
    pub max_idle: Option<usize>,
    pub idle_timeout: Option<Duration>,
    pub max_per_host: Option<usize>,
    pub max_total: Option<usize>,
}

impl Pool {
    #[cfg(test)]
    pub fn new(max_idle_per_host: usize, idle_timeout: Option<Duration>) -> Pool {
        Pool::with_limits(PoolLimits {
            max_idle_per_host,
            idle_timeout,
            ..PoolLimits::default()
        })
    }

    pub fn with_limits(l: PoolLimits) -> Pool {
        Pool {
            inner: Mutex::new(Inner::default()),
            max_idle_per_host: l.max_idle_per_host,
            max_idle: l.max_idle,
            idle_timeout: l.idle_timeout,
            limiter: Limiter::new(l.max_per_host, l.max_total),
        }
    }

    /// The caps on open connections, if any.
    pub(crate) fn limiter(&self) -> Option<&Arc<Limiter>> {
        self.limiter.as_ref()
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
    /// Under connection caps, a request waiting for the origin takes the connection first
    /// (or it closes to make room for a waiter for another origin; see `limit`).
    pub fn put(&self, key: PoolKey, mut conn: Conn, worker: Arc<Mailbox>, now: Instant) -> bool {
        if conn.is_h2() || conn.is_closed() {
            return false;
        }
        if let Some(limiter) = &self.limiter {
            conn.reused = true;
            match limiter.hand_over(&key, conn) {
                Returned::Keep(c) => conn = c,
                Returned::Taken | Returned::Close => return false,
            }
        }
        if self.max_idle_per_host == 0 {
            return false;
        }
        let mut inner = self.lock();
        if self.max_idle.is_some_and(|max| inner.idle.count() >= max) {
            return false;
        }
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
        let mut mine = conn.share().expect("HTTP/2 connection");
        // The request that opened it: its first, not a reused one.
        mine.reused = false;
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

    /// Closes the longest-idle connection to an origin other than `key` (to make room under
    /// the total cap): an idle HTTP/1.1 one, or a shared HTTP/2 one no request is using;
    /// false if there is none.
    pub fn evict_idle_except(&self, key: &PoolKey) -> bool {
        enum Oldest {
            Idle(PoolKey),
            Shared(PoolKey),
        }
        let mut inner = self.lock();
        let mut oldest: Option<(Instant, Oldest)> = None;
        let mut consider = |since: Instant, which: Oldest| {
            if oldest.as_ref().is_none_or(|(t, _)| since < *t) {
                oldest = Some((since, which));
            }
        };
        if let Some((k, list)) = &inner.idle.hot {
            if let Some(i) = list.first().filter(|_| k != key) {
                consider(i.since, Oldest::Idle(k.clone()));
            }
        }
        for (k, list) in &inner.idle.rest {
            if let Some(i) = list.first().filter(|_| k != key) {
                consider(i.since, Oldest::Idle(k.clone()));
            }
        }
        for (k, (conn, last)) in &inner.shared {
            if k != key && !conn.shared_elsewhere() {
                consider(*last, Oldest::Shared(k.clone()));
            }
        }
        let evicted = match oldest.map(|(_, which)| which) {
            Some(Oldest::Idle(k)) => inner.idle.get_mut(&k).map(|list| {
                let idle = list.remove(0);
                idle.dismiss();
                idle.conn
            }),
            Some(Oldest::Shared(k)) => inner.shared.remove(&k).map(|(conn, _)| conn),
            None => None,
        };
        drop(inner);
        // Dropped outside the lock: its place goes to a waiter once its task ends.
        evicted.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::test_support::{kill, Silent};

    fn key(authority: &str) -> PoolKey {
        PoolKey {
            https: false,
            authority: authority.parse().expect("authority"),
        }
    }

    fn worker() -> Arc<Mailbox> {
        Arc::new(Mailbox::default())
    }

    /// Whether `m` was dismissed: its `next` resolves to None at once.
    async fn dismissed(m: &Mailbox) -> bool {
        tokio::time::timeout(Duration::from_millis(20), m.next())
            .await
            .is_ok_and(|job| job.is_none())
    }

    #[tokio::test]
    async fn an_empty_pool_has_nothing() {
        let pool = Pool::new(4, None);
        assert!(pool.take(&key("a.test:80")).is_none());
        assert!(pool
            .take_parked(&key("a.test:80"), Instant::now())
            .is_none());
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn put_then_take_parked_gives_back_the_worker_and_connection() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let w = worker();
        assert!(pool.put(
            key("a.test:80"),
            server.conn().await,
            w.clone(),
            Instant::now()
        ));
        assert_eq!(pool.idle_count(), 1);
        let (got, conn) = pool
            .take_parked(&key("a.test:80"), Instant::now())
            .expect("the parked worker");
        assert!(Arc::ptr_eq(&got, &w));
        assert!(conn.reused, "a pooled connection is marked reused");
        assert!(!conn.is_closed());
        assert_eq!(pool.idle_count(), 0);
        assert!(pool
            .take_parked(&key("a.test:80"), Instant::now())
            .is_none());
        // Handed over, not dismissed: the worker is to run the next request.
        assert!(!dismissed(&w).await);
    }

    #[tokio::test]
    async fn take_gives_the_connection_and_dismisses_its_worker() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let w = worker();
        assert!(pool.put(
            key("a.test:80"),
            server.conn().await,
            w.clone(),
            Instant::now()
        ));
        let conn = pool.take(&key("a.test:80")).expect("the idle connection");
        assert!(conn.reused);
        assert!(dismissed(&w).await, "the parked worker lost its connection");
        assert!(pool.take(&key("a.test:80")).is_none());
    }

    #[tokio::test]
    async fn connections_are_kept_per_origin() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let (wa, wb) = (worker(), worker());
        let now = Instant::now();
        assert!(pool.put(key("a.test:80"), server.conn().await, wa.clone(), now));
        assert!(pool.put(key("b.test:80"), server.conn().await, wb.clone(), now));
        assert_eq!(pool.idle_count(), 2);
        // Another port, or https, is another origin.
        assert!(pool.take_parked(&key("a.test:81"), now).is_none());
        let https = PoolKey {
            https: true,
            ..key("a.test:80")
        };
        assert!(pool.take_parked(&https, now).is_none());
        let (got_b, _) = pool.take_parked(&key("b.test:80"), now).unwrap();
        assert!(Arc::ptr_eq(&got_b, &wb));
        let (got_a, _) = pool.take_parked(&key("a.test:80"), now).unwrap();
        assert!(Arc::ptr_eq(&got_a, &wa));
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn several_origins_interleaved() {
        // Exercises the hot-origin list moving between origins.
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let now = Instant::now();
        let origins = ["a.test:80", "b.test:80", "c.test:80"];
        let mut workers = Vec::new();
        for round in 0..2 {
            for o in origins {
                let w = worker();
                assert!(pool.put(key(o), server.conn().await, w.clone(), now));
                workers.push((o, round, w));
            }
        }
        assert_eq!(pool.idle_count(), 6);
        // Each origin gives back its own two workers, the last parked first.
        for o in origins.iter().rev() {
            for round in [1, 0] {
                let (got, _) = pool.take_parked(&key(o), now).expect("parked");
                let want = &workers
                    .iter()
                    .find(|(wo, wr, _)| wo == o && *wr == round)
                    .unwrap()
                    .2;
                assert!(Arc::ptr_eq(&got, want), "{o} round {round}");
            }
            assert!(pool.take_parked(&key(o), now).is_none());
        }
        assert_eq!(pool.idle_count(), 0);
    }

    #[test]
    fn pool_key_equality_ignores_the_authoritys_case() {
        use std::hash::{BuildHasher, RandomState};
        let lower = key("example.com:8080");
        let upper = key("EXAMPLE.Com:8080");
        assert_eq!(lower, upper);
        let s = RandomState::new();
        assert_eq!(s.hash_one(&lower), s.hash_one(&upper));
        assert_ne!(lower, key("example.org:8080"));
        assert_ne!(lower, key("example.com:8081"));
        let https = PoolKey {
            https: true,
            ..upper.clone()
        };
        assert_ne!(lower, https);
    }

    #[tokio::test]
    async fn the_pool_finds_an_origin_in_any_letter_case() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let now = Instant::now();
        // Once in the hot list, once in the map behind it.
        assert!(pool.put(key("Hot.Example:80"), server.conn().await, worker(), now));
        assert!(pool.put(key("cold.example:80"), server.conn().await, worker(), now));
        assert!(pool.take_parked(&key("hot.EXAMPLE:80"), now).is_some());
        assert!(pool.take(&key("COLD.example:80")).is_some());
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn max_idle_per_host_is_respected() {
        let server = Silent::start().await;
        let pool = Pool::new(2, None);
        let now = Instant::now();
        assert!(pool.put(key("a.test:80"), server.conn().await, worker(), now));
        assert!(pool.put(key("a.test:80"), server.conn().await, worker(), now));
        assert!(!pool.put(key("a.test:80"), server.conn().await, worker(), now));
        // The same origin in other letters is the same host.
        assert!(!pool.put(key("A.TEST:80"), server.conn().await, worker(), now));
        assert_eq!(pool.idle_count(), 2);
        // The limit is per host: another origin has its own.
        assert!(pool.put(key("b.test:80"), server.conn().await, worker(), now));
        assert_eq!(pool.idle_count(), 3);
        // Taking one makes room again.
        assert!(pool.take_parked(&key("a.test:80"), now).is_some());
        assert!(pool.put(key("a.test:80"), server.conn().await, worker(), now));
        assert_eq!(pool.idle_count(), 3);
    }

    #[tokio::test]
    async fn max_idle_zero_keeps_nothing() {
        let server = Silent::start().await;
        let pool = Pool::new(0, None);
        assert!(!pool.put(
            key("a.test:80"),
            server.conn().await,
            worker(),
            Instant::now()
        ));
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn a_refused_connection_does_not_displace_the_kept_one() {
        let server = Silent::start().await;
        let pool = Pool::new(1, None);
        let now = Instant::now();
        let (kept, refused) = (worker(), worker());
        assert!(pool.put(key("a.test:80"), server.conn().await, kept.clone(), now));
        assert!(!pool.put(key("a.test:80"), server.conn().await, refused.clone(), now));
        let (got, conn) = pool.take_parked(&key("a.test:80"), now).unwrap();
        assert!(Arc::ptr_eq(&got, &kept));
        assert!(!conn.is_closed());
        assert!(pool.take_parked(&key("a.test:80"), now).is_none());
    }

    #[tokio::test]
    async fn sweep_drops_entries_past_the_idle_timeout() {
        let server = Silent::start().await;
        let timeout = Duration::from_secs(10);
        let pool = Pool::new(4, Some(timeout));
        let now = Instant::now();
        let (old, fresh) = (worker(), worker());
        // Parked 11 s ago: expired. Parked now: not.
        let long_ago = now - Duration::from_secs(11);
        assert!(pool.put(key("a.test:80"), server.conn().await, old.clone(), long_ago));
        assert!(pool.put(key("b.test:80"), server.conn().await, fresh.clone(), now));
        assert_eq!(pool.idle_count(), 2);
        pool.sweep();
        assert_eq!(pool.idle_count(), 1);
        assert!(dismissed(&old).await, "a swept worker is told to end");
        assert!(!dismissed(&fresh).await);
        assert!(pool
            .take_parked(&key("a.test:80"), Instant::now())
            .is_none());
        assert!(pool
            .take_parked(&key("b.test:80"), Instant::now())
            .is_some());
    }

    #[tokio::test]
    async fn sweep_keeps_everything_without_an_idle_timeout() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let long_ago = Instant::now() - Duration::from_secs(3600);
        assert!(pool.put(key("a.test:80"), server.conn().await, worker(), long_ago));
        pool.sweep();
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn take_skips_expired_entries() {
        let server = Silent::start().await;
        let pool = Pool::new(4, Some(Duration::from_secs(10)));
        let now = Instant::now();
        let (old, fresh) = (worker(), worker());
        assert!(pool.put(key("a.test:80"), server.conn().await, fresh.clone(), now));
        // Parked last, so looked at first, but expired.
        let long_ago = now - Duration::from_secs(11);
        assert!(pool.put(key("a.test:80"), server.conn().await, old.clone(), long_ago));
        let (got, _) = pool.take_parked(&key("a.test:80"), now).unwrap();
        assert!(Arc::ptr_eq(&got, &fresh));
        assert!(dismissed(&old).await);
        assert_eq!(pool.idle_count(), 0);
        // `take` (its own clock) skips expired ones too.
        assert!(pool.put(key("a.test:80"), server.conn().await, worker(), long_ago));
        assert!(pool.take(&key("a.test:80")).is_none());
    }

    #[tokio::test]
    async fn a_closed_connection_is_not_handed_out_or_kept() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let now = Instant::now();
        let conn = server.conn().await;
        // Kill the connection's task: hyper's sender then reports it closed.
        kill(&conn);
        tokio::time::timeout(Duration::from_millis(200), async {
            while !conn.is_closed() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the sender sees its connection gone");
        assert!(!pool.put(key("a.test:80"), conn, worker(), now));
        assert_eq!(pool.idle_count(), 0);

        // One that dies while parked is skipped, and its worker dismissed.
        let conn = server.conn().await;
        let w = worker();
        kill(&conn);
        // No await since the abort: on this single-threaded runtime the task has not been
        // dropped yet, so the connection still reads as open and is kept.
        assert!(pool.put(key("a.test:80"), conn, w.clone(), now));
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(pool
            .take_parked(&key("a.test:80"), Instant::now())
            .is_none());
        assert!(dismissed(&w).await);
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn clear_empties_the_pool_and_dismisses_the_workers() {
        let server = Silent::start().await;
        let pool = Pool::new(4, None);
        let now = Instant::now();
        let ws: Vec<_> = (0..3).map(|_| worker()).collect();
        for (i, w) in ws.iter().enumerate() {
            let k = if i == 0 { "a.test:80" } else { "b.test:80" };
            assert!(pool.put(key(k), server.conn().await, w.clone(), now));
        }
        assert_eq!(pool.idle_count(), 3);
        pool.clear();
        assert_eq!(pool.idle_count(), 0);
        for w in &ws {
            assert!(dismissed(w).await);
        }
        assert!(pool.take(&key("a.test:80")).is_none());
        assert!(pool.take_parked(&key("b.test:80"), now).is_none());
        // Still usable after clearing.
        assert!(pool.put(key("a.test:80"), server.conn().await, worker(), now));
        assert_eq!(pool.idle_count(), 1);
        assert!(server.accepted() >= 3);
    }
}
