//! Caps on open connections, per origin and in total, with a queue in arrival order.
//!
//! A request that needs a new connection takes a [`Permit`] first; the permit rides with
//! the connection (`Conn::hold`) and is given back when the connection is dropped, i.e.
//! closed. A request that finds its origin (or the client) at the cap waits in one queue
//! shared by every origin. It is served, in queue order, by whichever comes first:
//! - a connection to its origin that a finished request hands over ([`Limiter::hand_over`]):
//!   the waiter sends its request on it (no new connection);
//! - a permit given back by a closing connection, when its origin is under its cap.
//!
//! Fairness across origins under the total cap: a finished request whose origin has no
//! waiter, while the first waiter in the queue is held back by the total only, closes its
//! connection instead of keeping it idle, and its place goes to that waiter at once (the
//! waiter leaves the queue with a permit). The closing connection's own permit is then
//! owed nothing: its origin counts it as `handed` until its socket is gone, and that
//! release frees no place. So each such close serves exactly one waiter, and the next
//! connection to finish sees the queue as it now is.
//!
//! Grants are sent after the lock is released: a grant whose waiter went away (cancelled,
//! timed out) is dropped, and dropping a permit takes the lock again (its place goes to the
//! next waiter that fits, or is freed).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::transport::{Conn, PoolKey};

/// What a waiter gets.
pub(crate) enum Grant {
    /// Room for a new connection to its origin.
    Connect(Permit),
    /// A connection to its origin whose last response was read to the end.
    Conn(Conn),
}

struct Waiter {
    key: PoolKey,
    tx: oneshot::Sender<Grant>,
}

#[derive(Default)]
struct State {
    /// Per origin, sockets open or opening: the per-origin cap counts these.
    open: HashMap<PoolKey, Origin>,
    /// Places under the total cap: every open socket but those whose place was handed on.
    total: usize,
    queue: VecDeque<Waiter>,
}

#[derive(Default)]
struct Origin {
    open: usize,
    /// Of `open`, connections closing whose place already went to a waiter for another
    /// origin: their permits' release gives back no place under the total.
    handed: usize,
}

pub(crate) struct Limiter {
    per_origin: usize,
    total: usize,
    state: Mutex<State>,
}

/// One open (or opening) connection's place under the caps; gives it back when dropped.
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    key: PoolKey,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.release(&self.key);
    }
}

/// What [`Limiter::hand_over`] decided for a connection whose request finished.
pub(crate) enum Returned {
    /// Nobody waits for it: keep it idle as usual.
    Keep(Conn),
    /// A waiter for its origin took it.
    Taken,
    /// Close it: its place went to a waiter for another origin, which connects.
    Close,
}

impl Limiter {
    /// `None` for a cap means none. Returns None when neither cap is set (no limiter).
    pub(crate) fn new(per_origin: Option<usize>, total: Option<usize>) -> Option<Arc<Limiter>> {
        if per_origin.is_none() && total.is_none() {
            return None;
        }
        Some(Arc::new(Limiter {
            per_origin: per_origin.unwrap_or(usize::MAX),
            total: total.unwrap_or(usize::MAX),
            state: Mutex::default(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn room(&self, s: &State, key: &PoolKey) -> bool {
        s.total < self.total && self.origin_has_room(s, key)
    }

    fn origin_has_room(&self, s: &State, key: &PoolKey) -> bool {
        s.open.get(key).map_or(0, |o| o.open) < self.per_origin
    }

    fn take_place(s: &mut State, key: &PoolKey) {
        s.total += 1;
        s.open.entry(key.clone()).or_default().open += 1;
    }

    /// A permit for a new connection to `key` at once, or a place in the queue. Nobody
    /// jumps the queue: with a waiter for this origin, a newcomer queues behind it.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        key: &PoolKey,
    ) -> Result<Permit, oneshot::Receiver<Grant>> {
        let mut s = self.lock();
        s.queue.retain(|w| !w.tx.is_closed());
        let ahead = s.queue.iter().any(|w| w.key == *key);
        if !ahead && self.room(&s, key) {
            Self::take_place(&mut s, key);
            return Ok(Permit {
                limiter: self.clone(),
                key: key.clone(),
            });
        }
        let (tx, rx) = oneshot::channel();
        s.queue.push_back(Waiter {
            key: key.clone(),
            tx,
        });
        Err(rx)
    }

    /// Whether the total cap (not the origin's) is what keeps `key` from a new connection.
    pub(crate) fn total_is_full(&self, key: &PoolKey) -> bool {
        let s = self.lock();
        s.total >= self.total && self.origin_has_room(&s, key)
    }

    /// The origin of the first waiter held back by the total cap alone, if any.
    pub(crate) fn first_held_by_total(&self) -> Option<PoolKey> {
        let s = self.lock();
        if s.total < self.total {
            return None;
        }
        s.queue
            .iter()
            .find(|w| !w.tx.is_closed() && self.origin_has_room(&s, &w.key))
            .map(|w| w.key.clone())
    }

    /// Offers a connection to `key` whose request finished to the queue, in order: the
    /// first waiter that is either for `key` (it takes the connection) or held back by the
    /// total cap alone (it takes the connection's place, and the connection closes).
    pub(crate) fn hand_over(self: &Arc<Self>, key: &PoolKey, mut conn: Conn) -> Returned {
        loop {
            let (tx, grant, closing) = {
                let mut s = self.lock();
                s.queue.retain(|w| !w.tx.is_closed());
                let total_full = s.total >= self.total;
                let first = s.queue.iter().position(|w| {
                    w.key == *key || (total_full && self.origin_has_room(&s, &w.key))
                });
                let Some(i) = first else {
                    return Returned::Keep(conn);
                };
                let w = s.queue.remove(i).expect("position is in range");
                if w.key == *key {
                    (w.tx, Grant::Conn(conn), false)
                } else {
                    // The place moves to the waiter's origin now; the total is unchanged.
                    let from = s.open.get_mut(key);
                    debug_assert!(from.is_some(), "a connection holds a place");
                    if let Some(from) = from {
                        from.handed += 1;
                    }
                    s.open.entry(w.key.clone()).or_default().open += 1;
                    let permit = Permit {
                        limiter: self.clone(),
                        key: w.key,
                    };
                    (w.tx, Grant::Connect(permit), true)
                }
            };
            match tx.send(grant) {
                Ok(()) if closing => return Returned::Close,
                Ok(()) => return Returned::Taken,
                Err(Grant::Conn(back)) => conn = back,
                // The waiter went away meanwhile: the permit drops here (outside the lock)
                // and its place goes on to the next waiter that fits, or is freed.
                Err(Grant::Connect(permit)) => {
                    drop(permit);
                    return Returned::Close;
                }
            }
        }
    }

    /// A connection to `key` closed: its place (unless it was handed on already) goes to
    /// the first waiter that fits.
    fn release(self: &Arc<Self>, key: &PoolKey) {
        let mut guard = self.lock();
        let s = &mut *guard;
        if let Some(origin) = s.open.get_mut(key) {
            origin.open -= 1;
            if origin.handed > 0 {
                origin.handed -= 1;
            } else {
                s.total -= 1;
            }
            if origin.open == 0 {
                s.open.remove(key);
            }
        } else {
            debug_assert!(false, "a permit holds a place");
        }
        let (tx, next) = loop {
            let Some(i) = s
                .queue
                .iter()
                .position(|w| !w.tx.is_closed() && self.room(s, &w.key))
            else {
                s.queue.retain(|w| !w.tx.is_closed());
                return;
            };
            let w = s.queue.remove(i).expect("position is in range");
            if !w.tx.is_closed() {
                break (w.tx, w.key);
            }
        };
        Self::take_place(s, &next);
        drop(guard);
        let permit = Permit {
            limiter: self.clone(),
            key: next,
        };
        // A waiter gone since: the permit drops here, outside the lock, and goes on.
        let _ = tx.send(Grant::Connect(permit));
    }

    /// Open connections: to `key`, and in total.
    #[cfg(test)]
    fn open(&self, key: &PoolKey) -> (usize, usize) {
        let s = self.lock();
        (s.open.get(key).map_or(0, |o| o.open), s.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(authority: &str) -> PoolKey {
        PoolKey {
            https: false,
            authority: authority.parse().expect("authority"),
        }
    }

    fn granted_permit(rx: &mut oneshot::Receiver<Grant>) -> Option<Permit> {
        match rx.try_recv() {
            Ok(Grant::Connect(p)) => Some(p),
            Ok(Grant::Conn(_)) => panic!("expected a permit, got a connection"),
            Err(_) => None,
        }
    }

    #[test]
    fn no_caps_no_limiter() {
        assert!(Limiter::new(None, None).is_none());
    }

    #[test]
    fn per_origin_cap_queues_in_order_and_releases_to_the_first() {
        let l = Limiter::new(Some(2), None).unwrap();
        let a = key("a.test:80");
        let p1 = l.acquire(&a).ok().unwrap();
        let _p2 = l.acquire(&a).ok().unwrap();
        let mut w1 = l.acquire(&a).err().unwrap();
        let mut w2 = l.acquire(&a).err().unwrap();
        // Another origin has its own cap.
        let _b = l.acquire(&key("b.test:80")).ok().unwrap();
        assert_eq!(l.open(&a), (2, 3));
        assert!(granted_permit(&mut w1).is_none());
        drop(p1);
        let p3 = granted_permit(&mut w1).expect("the first waiter is served");
        assert!(granted_permit(&mut w2).is_none());
        assert_eq!(l.open(&a), (2, 3));
        drop(p3);
        assert!(granted_permit(&mut w2).is_some());
    }

    #[test]
    fn a_waiter_that_left_is_skipped() {
        let l = Limiter::new(Some(1), None).unwrap();
        let a = key("a.test:80");
        let p = l.acquire(&a).ok().unwrap();
        let gone = l.acquire(&a).err().unwrap();
        let mut w = l.acquire(&a).err().unwrap();
        drop(gone);
        drop(p);
        let _got = granted_permit(&mut w).expect("served");
        assert_eq!(l.open(&a), (1, 1));
    }

    #[test]
    fn a_grant_to_a_waiter_gone_meanwhile_is_given_back() {
        let l = Limiter::new(Some(1), None).unwrap();
        let a = key("a.test:80");
        let p = l.acquire(&a).ok().unwrap();
        let w = l.acquire(&a).err().unwrap();
        drop(w);
        drop(p);
        assert_eq!(l.open(&a), (0, 0));
        assert!(l.acquire(&a).is_ok());
    }

    #[test]
    fn the_total_cap_serves_origins_in_arrival_order() {
        let l = Limiter::new(None, Some(2)).unwrap();
        let (a, b) = (key("a.test:80"), key("b.test:80"));
        let pa1 = l.acquire(&a).ok().unwrap();
        let _pa2 = l.acquire(&a).ok().unwrap();
        let mut wb = l.acquire(&b).err().unwrap();
        // A newcomer for `a` may not overtake the waiter for `b`.
        let mut wa = l.acquire(&a).err().unwrap();
        assert!(l.total_is_full(&b));
        drop(pa1);
        let pb = granted_permit(&mut wb).expect("b, first in the queue, is served");
        assert!(granted_permit(&mut wa).is_none());
        assert_eq!(l.open(&b), (1, 2));
        drop(pb);
        assert!(granted_permit(&mut wa).is_some());
    }

    #[tokio::test]
    async fn a_finished_connection_goes_to_its_origins_waiter_or_closes_for_another() {
        use crate::transport::test_support::Silent;
        let server = Silent::start().await;
        let l = Limiter::new(None, Some(1)).unwrap();
        let (a, b) = (key("a.test:80"), key("b.test:80"));
        let _p = l.acquire(&a).ok().unwrap();
        // Nobody waits: the pool keeps it.
        assert!(matches!(
            l.hand_over(&a, server.conn().await),
            Returned::Keep(_)
        ));
        // A waiter for the origin takes it.
        let mut wa = l.acquire(&a).err().unwrap();
        assert!(matches!(
            l.hand_over(&a, server.conn().await),
            Returned::Taken
        ));
        assert!(matches!(wa.try_recv(), Ok(Grant::Conn(_))));
        // First in the queue, another origin held back by the total: close for it.
        let mut wb = l.acquire(&b).err().unwrap();
        let _wa2 = l.acquire(&a).err().unwrap();
        assert!(matches!(
            l.hand_over(&a, server.conn().await),
            Returned::Close
        ));
        assert!(granted_permit(&mut wb).is_some(), "b has the place at once");
    }

    fn closes(outcomes: &[Returned]) -> usize {
        outcomes
            .iter()
            .filter(|r| matches!(r, Returned::Close))
            .count()
    }

    #[tokio::test]
    async fn one_waiter_for_another_origin_closes_one_connection_not_each_that_finishes() {
        use crate::transport::test_support::Silent;
        let server = Silent::start().await;
        let l = Limiter::new(None, Some(3)).unwrap();
        let (a, b, c) = (key("a.test:80"), key("b.test:80"), key("c.test:80"));
        // Three connections to `a` (their permits stand for their sockets), `b` waiting.
        let mut pa: Vec<Permit> = (0..3).map(|_| l.acquire(&a).ok().unwrap()).collect();
        let mut wb = l.acquire(&b).err().unwrap();
        // All three finish before the first one's socket is gone.
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.push(l.hand_over(&a, server.conn().await));
        }
        assert_eq!(closes(&outcomes), 1, "one waiter, one close");
        assert!(matches!(outcomes[0], Returned::Close));
        let pb = granted_permit(&mut wb).expect("b was given the closing one's place");
        assert_eq!(l.open(&b), (1, 3));
        // The closing socket still counts for `a` until it is gone, but not in the total.
        assert_eq!(l.open(&a), (3, 3));
        drop(pa.remove(0));
        assert_eq!(l.open(&a), (2, 3), "its place was handed on: none is freed");
        let mut wc = l.acquire(&c).err().unwrap();
        drop(pb);
        let _pc = granted_permit(&mut wc).expect("b's place went to c");
        assert_eq!(l.open(&a), (2, 3));
    }

    #[tokio::test]
    async fn a_handed_place_whose_waiter_leaves_goes_on_to_the_next() {
        use crate::transport::test_support::Silent;
        let server = Silent::start().await;
        let l = Limiter::new(None, Some(1)).unwrap();
        let (a, b, c, d) = (
            key("a.test:80"),
            key("b.test:80"),
            key("c.test:80"),
            key("d.test:80"),
        );
        let pa = l.acquire(&a).ok().unwrap();
        let gone = l.acquire(&b).err().unwrap();
        let wc = l.acquire(&c).err().unwrap();
        let mut wd = l.acquire(&d).err().unwrap();
        // A waiter that left before: skipped.
        drop(gone);
        assert!(matches!(
            l.hand_over(&a, server.conn().await),
            Returned::Close
        ));
        // One that leaves with the grant unopened: the place goes on, not back to `a`.
        drop(wc);
        let pd = granted_permit(&mut wd).expect("the next waiter has the place");
        drop(pa);
        assert_eq!(l.open(&a), (0, 1));
        assert_eq!(l.open(&d), (1, 1));
        // Once the last holder is gone the place is free.
        drop(pd);
        assert_eq!(l.open(&d), (0, 0));
        assert!(l.acquire(&a).is_ok());
    }

    #[tokio::test]
    async fn a_closing_connection_counts_under_its_origins_cap_until_gone() {
        use crate::transport::test_support::Silent;
        let server = Silent::start().await;
        let l = Limiter::new(Some(1), Some(2)).unwrap();
        let (a, b, c) = (key("a.test:80"), key("b.test:80"), key("c.test:80"));
        let pa = l.acquire(&a).ok().unwrap();
        let pb = l.acquire(&b).ok().unwrap();
        let mut wc = l.acquire(&c).err().unwrap();
        let mut wa = l.acquire(&a).err().unwrap();
        assert!(matches!(
            l.hand_over(&a, server.conn().await),
            Returned::Close
        ));
        let _pc = granted_permit(&mut wc).expect("c has a's place");
        // A place under the total, but `a` is at its cap while its old socket closes.
        drop(pb);
        assert!(granted_permit(&mut wa).is_none());
        drop(pa);
        let _pa = granted_permit(&mut wa).expect("a is under its cap again");
        assert_eq!(l.open(&a), (1, 2));
    }
}
