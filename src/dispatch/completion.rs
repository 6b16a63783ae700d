//! The completion hub: how finished requests reach the caller.
//!
//! Three paths, all fed from one place (`Hub::publish`), so every completion is counted once:
//! - a queue the caller drains in batches, announced by an fd (an eventfd, or a self-pipe: `signal`) readable while
//!   the queue is non-empty. The eventfd is written at most once per runtime tick (from the
//!   park hook), or sooner after `FLUSH_EVERY` completions or `FLUSH_DELAY` on a runtime
//!   too busy to park, so many completions cost the caller one wake-up;
//! - a condition variable for threads blocked in `wait*`, notified immediately, and wakers
//!   for threads that drive the runtime while they wait (`Hub::wait_driving`);
//! - an optional callback, run on the thread that completed the request.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::task::{Poll, Waker};
use std::time::Instant;

use super::signal::Signal;
use crate::error::Result;
use crate::request::{Completion, Table};

/// Signal the caller after this many unsignalled completions even if the tick goes on.
const FLUSH_EVERY: usize = 64;
/// ... or after this long, if the runtime stays too busy to park.
const FLUSH_DELAY: std::time::Duration = std::time::Duration::from_millis(1);

pub type Callback = Arc<dyn Fn(&Completion) + Send + Sync>;

struct Queue {
    items: VecDeque<Completion>,
    /// The eventfd holds a non-zero count (it is readable).
    signaled: bool,
    /// Length at which stale entries (freed handles) are swept out.
    compact_at: usize,
}

pub struct Hub {
    queue: Mutex<Queue>,
    /// Readable while completions wait (an eventfd, or a self-pipe).
    eventfd: Signal,
    /// The caller asked for the fd: only then is it worth writing.
    armed: AtomicBool,
    flush_pending: AtomicBool,
    unflushed: AtomicUsize,
    flusher: tokio::sync::Notify,
    waiters: AtomicUsize,
    wait_lock: Mutex<()>,
    wait_cv: Condvar,
    /// Callers driving the runtime while they wait (their `block_on` futures).
    wakers: Mutex<Vec<Waker>>,
    has_wakers: AtomicBool,
    callback: RwLock<Option<Callback>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub fn new() -> Result<Hub> {
        let eventfd = Signal::new()?;
        Ok(Hub {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                signaled: false,
                compact_at: 1024,
            }),
            eventfd,
            armed: AtomicBool::new(false),
            flush_pending: AtomicBool::new(false),
            unflushed: AtomicUsize::new(0),
            flusher: tokio::sync::Notify::new(),
            waiters: AtomicUsize::new(0),
            wait_lock: Mutex::new(()),
            wait_cv: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
            has_wakers: AtomicBool::new(false),
            callback: RwLock::new(None),
        })
    }

    /// The fd a caller's loop watches; from now on completions signal it.
    pub fn fd(&self) -> BorrowedFd<'_> {
        if !self.armed.swap(true, Ordering::SeqCst) {
            self.flush_now();
        }
        self.eventfd.fd()
    }

    pub fn has_callback(&self) -> bool {
        self.callback
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    pub fn set_callback(&self, cb: Option<Callback>) {
        *self.callback.write().unwrap_or_else(|p| p.into_inner()) = cb;
    }

    /// Announces one completion. `mark` flips the exchange to complete; it runs under the
    /// queue lock, so a caller that sees the exchange complete and then drains finds it.
    /// `on_runtime` is false when the caller's own thread completed it (cancel, close):
    /// then the fd is signalled at once.
    pub fn publish(&self, c: Completion, table: &Table, on_runtime: bool, mark: impl FnOnce()) {
        // The callback runs first: whoever later sees the request complete (poll, wait,
        // drain) knows its callback has returned. The outcome is already readable in it.
        let cb = self
            .callback
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(cb) = cb {
            cb(&c);
        }
        let needs_signal = {
            let mut q = lock(&self.queue);
            mark();
            q.items.push_back(c);
            if q.items.len() >= q.compact_at {
                q.items.retain(|c| table.contains(c.handle));
                q.compact_at = (q.items.len() * 2).max(1024);
            }
            !q.signaled
        };
        if needs_signal && self.armed.load(Ordering::SeqCst) {
            if !on_runtime || self.unflushed.fetch_add(1, Ordering::Relaxed) + 1 >= FLUSH_EVERY {
                self.flush_now();
            } else if !self.flush_pending.swap(true, Ordering::AcqRel) {
                self.flusher.notify_one();
            }
        }
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _g = lock(&self.wait_lock);
            self.wait_cv.notify_all();
        }
        if self.has_wakers.load(Ordering::SeqCst) {
            self.wake_drivers();
        }
    }

    /// Wakes the callers that drive the runtime while they wait.
    fn wake_drivers(&self) {
        let woken = {
            let mut w = lock(&self.wakers);
            self.has_wakers.store(false, Ordering::SeqCst);
            std::mem::take(&mut *w)
        };
        woken.into_iter().for_each(Waker::wake);
    }

    /// Signals the fd if completions were published since the last signal. Called when a
    /// runtime thread is about to park, and by the flusher task.
    pub fn flush(&self) {
        if self.flush_pending.swap(false, Ordering::AcqRel) {
            self.flush_now();
        }
    }

    fn flush_now(&self) {
        self.unflushed.store(0, Ordering::Relaxed);
        {
            let mut q = lock(&self.queue);
            if q.signaled || q.items.is_empty() {
                return;
            }
            q.signaled = true;
        }
        // Written after the lock is released: the write wakes the caller's thread, which
        // (sharing a core) may run at once and go straight for the queue; holding the lock
        // here made it sleep on the lock and switch back, twice per batch.
        // A full counter (EAGAIN) still leaves the fd readable, which is all we need.
        self.eventfd.raise();
        // A drain may have emptied the queue and reset the flag before the write landed:
        // then nothing is left to announce, and the fd must not stay readable.
        let q = lock(&self.queue);
        if !q.signaled && q.items.is_empty() {
            self.eventfd.clear();
        }
    }

    /// Runs on the runtime: the backstop for a runtime so busy it does not park. The park
    /// hook normally flushes first (batching a whole tick); this bounds the wait to about
    /// `FLUSH_DELAY` when it does not. (A yield here would keep the runtime from parking
    /// and so halve the completions per wake-up.)
    pub async fn run_flusher(self: Arc<Self>) {
        loop {
            self.flusher.notified().await;
            tokio::time::sleep(FLUSH_DELAY).await;
            self.flush();
        }
    }

    /// Moves up to `max` completions of live handles into `out`. Clears the fd's readiness
    /// when the queue empties.
    pub fn drain(&self, out: &mut Vec<Completion>, max: usize, table: &Table) {
        let mut q = lock(&self.queue);
        while out.len() < max {
            match q.items.pop_front() {
                Some(c) if table.contains(c.handle) => out.push(c),
                Some(_) => {}
                None => break,
            }
        }
        if q.items.is_empty() && q.signaled {
            self.eventfd.clear();
            q.signaled = false;
        }
    }

    /// Resolves when `done()` holds (true) or `deadline` passes (the last `done()`). Polled
    /// by a caller that drives the runtime while it waits; woken by every publish.
    pub async fn wait_driving(
        &self,
        deadline: Option<Instant>,
        mut done: impl FnMut() -> bool,
    ) -> bool {
        let check = &mut done;
        let mut mine: Option<Waker> = None;
        let registered = &mut mine;
        let until_done = std::future::poll_fn(|cx| {
            if check() {
                return Poll::Ready(true);
            }
            {
                let mut w = lock(&self.wakers);
                if !w.iter().any(|w| w.will_wake(cx.waker())) {
                    w.push(cx.waker().clone());
                }
                self.has_wakers.store(true, Ordering::SeqCst);
            }
            *registered = Some(cx.waker().clone());
            // A publish between the first check and the registration found no waker.
            if check() {
                Poll::Ready(true)
            } else {
                Poll::Pending
            }
        });
        let r = match deadline {
            None => until_done.await,
            Some(d) => {
                let d = tokio::time::Instant::from_std(d);
                tokio::time::timeout_at(d, until_done)
                    .await
                    .ok()
                    .unwrap_or_else(done)
            }
        };
        // A wait that timed out leaves its waker behind; it refers to the runtime, whose
        // park hook refers to this hub: a cycle that would never be freed.
        if let Some(w) = mine {
            lock(&self.wakers).retain(|x| !x.will_wake(&w));
        }
        r
    }

    /// Wakes every waiter (blocked or driving) to look at its condition again: the client
    /// is closing, which may make a condition true that no completion will announce.
    pub fn wake_waiters(&self) {
        {
            let _g = lock(&self.wait_lock);
            self.wait_cv.notify_all();
        }
        self.wake_drivers();
    }

    /// Drops every registered waker (the client is closing: nobody drives any more).
    pub fn clear_wakers(&self) {
        lock(&self.wakers).clear();
    }

    /// Completions queued (some may belong to freed handles, which drain skips).
    pub fn queued(&self) -> usize {
        lock(&self.queue).items.len()
    }

    /// Blocks until `done()` holds or `deadline` passes; returns the last `done()`.
    pub fn wait_until(&self, deadline: Option<Instant>, mut done: impl FnMut() -> bool) -> bool {
        if done() {
            return true;
        }
        let mut g = lock(&self.wait_lock);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            if done() {
                break true;
            }
            match deadline {
                None => g = self.wait_cv.wait(g).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break false;
                    }
                    g = self
                        .wait_cv
                        .wait_timeout(g, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    use rustix::event::{PollFd, PollFlags, Timespec};

    use super::*;
    use crate::error::ErrorKind;
    use crate::request::Exchange;

    /// Whether `fd` polls readable right now (timeout 0).
    fn readable(fd: BorrowedFd<'_>) -> bool {
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        rustix::event::poll(&mut fds, Some(&zero)).expect("poll") == 1
            && fds[0].revents().contains(PollFlags::IN)
    }

    /// A live handle in `table` and its completion record.
    fn completion(table: &Table, user_data: u64, status: u16) -> Completion {
        let (handle, _) = table
            .insert_with(|h| Arc::new(Exchange::new(h, user_data, None)))
            .unwrap();
        Completion {
            handle,
            user_data,
            error: None,
            status,
            event: Default::default(),
        }
    }

    fn drain_all(hub: &Hub, table: &Table) -> Vec<Completion> {
        let mut out = Vec::new();
        hub.drain(&mut out, usize::MAX, table);
        out
    }

    #[test]
    fn publish_then_drain_hands_out_the_completion() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let ok = completion(&table, 42, 204);
        let failed = Completion {
            error: Some(ErrorKind::Timeout),
            status: 0,
            ..completion(&table, 43, 0)
        };
        let marks = AtomicU32::new(0);
        hub.publish(ok, &table, false, || {
            marks.fetch_add(1, Ordering::SeqCst);
        });
        hub.publish(failed, &table, false, || {
            marks.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(
            marks.load(Ordering::SeqCst),
            2,
            "mark runs once per publish"
        );
        assert_eq!(hub.queued(), 2);
        let out = drain_all(&hub, &table);
        assert_eq!(out, vec![ok, failed], "in publish order, fields intact");
        assert_eq!(out[0].handle, ok.handle);
        assert_eq!((out[0].user_data, out[0].status), (42, 204));
        assert_eq!(out[1].error, Some(ErrorKind::Timeout));
        assert_eq!(hub.queued(), 0);
        assert!(drain_all(&hub, &table).is_empty(), "each completion once");
    }

    #[test]
    fn the_fd_is_readable_exactly_while_completions_wait() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        assert!(!readable(hub.fd()));
        let (a, b) = (completion(&table, 1, 200), completion(&table, 2, 200));
        hub.publish(a, &table, false, || {});
        assert!(readable(hub.fd()));
        hub.publish(b, &table, false, || {});
        assert!(readable(hub.fd()));
        let mut out = Vec::new();
        hub.drain(&mut out, 1, &table);
        assert_eq!(out, vec![a]);
        assert!(readable(hub.fd()), "one still waits");
        out.clear();
        hub.drain(&mut out, 1, &table);
        assert_eq!(out, vec![b]);
        assert!(!readable(hub.fd()), "cleared with the last one drained");
        // And signalled again by the next completion.
        hub.publish(completion(&table, 3, 200), &table, false, || {});
        assert!(readable(hub.fd()));
    }

    #[test]
    fn the_fd_is_written_only_once_asked_for() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        hub.publish(completion(&table, 1, 200), &table, false, || {});
        // Not armed: the eventfd itself was never written.
        assert!(!readable(hub.eventfd.fd()));
        // Asking for it announces what is already queued.
        assert!(readable(hub.fd()));
        assert_eq!(drain_all(&hub, &table).len(), 1);
        assert!(!readable(hub.fd()));
    }

    #[test]
    fn drain_respects_max() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let _ = hub.fd();
        let cs: Vec<Completion> = (0..5).map(|i| completion(&table, i, 200)).collect();
        for c in &cs {
            hub.publish(*c, &table, false, || {});
        }
        let mut out = Vec::new();
        hub.drain(&mut out, 2, &table);
        assert_eq!(out, cs[..2]);
        assert_eq!(hub.queued(), 3);
        assert!(readable(hub.fd()));
        // `max` bounds the length of `out`, counting what it already held.
        hub.drain(&mut out, 3, &table);
        assert_eq!(out, cs[..3]);
        hub.drain(&mut out, 3, &table);
        assert_eq!(out.len(), 3, "out was full: nothing moved");
        assert_eq!(hub.queued(), 2);
        out.clear();
        hub.drain(&mut out, 0, &table);
        assert!(out.is_empty());
        hub.drain(&mut out, 100, &table);
        assert_eq!(out, cs[3..]);
        assert!(!readable(hub.fd()));
    }

    #[test]
    fn a_completion_whose_handle_was_freed_is_not_delivered() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let _ = hub.fd();
        let (freed, kept) = (completion(&table, 1, 200), completion(&table, 2, 200));
        hub.publish(freed, &table, false, || {});
        hub.publish(kept, &table, false, || {});
        table.remove(freed.handle).unwrap();
        assert_eq!(hub.queued(), 2, "still queued until drained");
        assert_eq!(drain_all(&hub, &table), vec![kept]);
        assert!(!readable(hub.fd()));

        // A queue holding only stale entries empties and clears the fd too.
        let lone = completion(&table, 3, 200);
        hub.publish(lone, &table, false, || {});
        assert!(readable(hub.fd()));
        table.remove(lone.handle).unwrap();
        assert!(drain_all(&hub, &table).is_empty());
        assert_eq!(hub.queued(), 0);
        assert!(!readable(hub.fd()));

        // A stale entry does not count against `max`.
        let (a, b) = (completion(&table, 4, 200), completion(&table, 5, 200));
        hub.publish(a, &table, false, || {});
        hub.publish(b, &table, false, || {});
        table.remove(a.handle).unwrap();
        let mut out = Vec::new();
        hub.drain(&mut out, 1, &table);
        assert_eq!(out, vec![b]);
    }

    #[test]
    fn a_long_queue_sweeps_out_freed_handles() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let cs: Vec<Completion> = (0..1024).map(|i| completion(&table, i, 200)).collect();
        for c in &cs[..1023] {
            hub.publish(*c, &table, false, || {});
        }
        for c in &cs[..1000] {
            table.remove(c.handle).unwrap();
        }
        assert_eq!(hub.queued(), 1023);
        // The 1024th entry reaches the compaction length.
        hub.publish(cs[1023], &table, false, || {});
        assert_eq!(hub.queued(), 24);
        assert_eq!(drain_all(&hub, &table), cs[1000..]);
    }

    #[test]
    fn a_callback_sees_every_completion_in_addition_to_the_queue() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let seen: Arc<Mutex<Vec<(Completion, bool)>>> = Arc::default();
        let marked = Arc::new(AtomicBool::new(false));
        {
            let (seen, marked) = (seen.clone(), marked.clone());
            hub.set_callback(Some(Arc::new(move |c: &Completion| {
                seen.lock()
                    .unwrap()
                    .push((*c, marked.load(Ordering::SeqCst)));
            })));
        }
        assert!(hub.has_callback());
        let c = completion(&table, 7, 201);
        hub.publish(c, &table, true, || marked.store(true, Ordering::SeqCst));
        // Called once, with the record, before the exchange was marked complete.
        assert_eq!(*seen.lock().unwrap(), vec![(c, false)]);
        assert!(marked.load(Ordering::SeqCst));
        // The queue (header comment: "in addition to the queue") has it too.
        assert_eq!(drain_all(&hub, &table), vec![c]);

        hub.set_callback(None);
        assert!(!hub.has_callback());
        hub.publish(completion(&table, 8, 200), &table, true, || {});
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "removed callbacks are not called"
        );
    }

    #[test]
    fn completions_on_the_runtime_are_announced_by_flush() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let _ = hub.fd();
        // Nothing published: flush signals nothing.
        hub.flush();
        assert!(!readable(hub.fd()));
        hub.publish(completion(&table, 1, 200), &table, true, || {});
        hub.publish(completion(&table, 2, 200), &table, true, || {});
        assert!(
            !readable(hub.fd()),
            "on the runtime: wait for the tick's end"
        );
        assert_eq!(hub.queued(), 2, "but queued at once");
        hub.flush();
        assert!(readable(hub.fd()));
        // Already signalled: later completions of the tick need no flush.
        hub.publish(completion(&table, 3, 200), &table, true, || {});
        assert!(readable(hub.fd()));
        assert_eq!(drain_all(&hub, &table).len(), 3);
        assert!(!readable(hub.fd()));
        // A flush after a drain emptied the queue does not leave the fd readable.
        hub.publish(completion(&table, 4, 200), &table, true, || {});
        assert_eq!(drain_all(&hub, &table).len(), 1);
        hub.flush();
        assert!(!readable(hub.fd()));
        // Off the runtime (cancel, close): signalled at once.
        hub.publish(completion(&table, 5, 200), &table, false, || {});
        assert!(readable(hub.fd()));
    }

    #[test]
    fn a_busy_tick_is_announced_after_flush_every_completions() {
        let hub = Hub::new().unwrap();
        let table = Table::new(1);
        let _ = hub.fd();
        for i in 0..FLUSH_EVERY - 1 {
            hub.publish(completion(&table, i as u64, 200), &table, true, || {});
        }
        assert!(!readable(hub.fd()));
        hub.publish(completion(&table, 99, 200), &table, true, || {});
        assert!(readable(hub.fd()), "the {FLUSH_EVERY}th completion signals");
        assert_eq!(drain_all(&hub, &table).len(), FLUSH_EVERY);
        // The count starts again after a signal.
        for i in 0..FLUSH_EVERY - 1 {
            hub.publish(completion(&table, i as u64, 200), &table, true, || {});
        }
        assert!(!readable(hub.fd()));
    }

    #[tokio::test]
    async fn the_flusher_announces_a_tick_that_never_parks() {
        let hub = Arc::new(Hub::new().unwrap());
        let table = Table::new(1);
        let _ = hub.fd();
        let flusher = tokio::spawn(hub.clone().run_flusher());
        hub.publish(completion(&table, 1, 200), &table, true, || {});
        assert!(!readable(hub.fd()));
        // Nobody calls flush: the flusher does, about FLUSH_DELAY later.
        let started = Instant::now();
        while !readable(hub.fd()) {
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "never flushed"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        flusher.abort();
    }

    #[test]
    fn wait_until_returns_at_once_when_done() {
        let hub = Hub::new().unwrap();
        // Even with a deadline already past.
        assert!(hub.wait_until(Some(Instant::now()), || true));
        assert!(hub.wait_until(None, || true));
    }

    #[test]
    fn wait_until_times_out() {
        let hub = Hub::new().unwrap();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(50);
        let mut asked = 0;
        let r = hub.wait_until(Some(deadline), || {
            asked += 1;
            false
        });
        let took = started.elapsed();
        assert!(!r);
        assert!(
            took >= Duration::from_millis(50),
            "returned early: {took:?}"
        );
        assert!(
            took < Duration::from_millis(1000),
            "returned late: {took:?}"
        );
        assert!(
            asked >= 2,
            "looked at the condition before and after waiting"
        );
        assert_eq!(hub.waiters.load(Ordering::SeqCst), 0, "deregistered");
    }

    #[test]
    fn wait_until_wakes_on_a_publish() {
        let hub = Arc::new(Hub::new().unwrap());
        let table = Arc::new(Table::new(1));
        let done = Arc::new(AtomicBool::new(false));
        let c = completion(&table, 1, 200);
        let publisher = {
            let (hub, table, done) = (hub.clone(), table.clone(), done.clone());
            std::thread::spawn(move || {
                // Publish once the waiter is blocked.
                while hub.waiters.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
                hub.publish(c, &table, false, || done.store(true, Ordering::SeqCst));
            })
        };
        let started = Instant::now();
        // Without the notify this would sleep out the whole 3 s.
        let r = hub.wait_until(Some(started + Duration::from_secs(3)), || {
            done.load(Ordering::SeqCst)
        });
        assert!(r);
        assert!(started.elapsed() < Duration::from_millis(1500));
        publisher.join().unwrap();
        assert_eq!(hub.waiters.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn wake_waiters_makes_a_waiter_look_again() {
        let hub = Arc::new(Hub::new().unwrap());
        let closing = Arc::new(AtomicBool::new(false));
        let closer = {
            let (hub, closing) = (hub.clone(), closing.clone());
            std::thread::spawn(move || {
                while hub.waiters.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
                closing.store(true, Ordering::SeqCst);
                hub.wake_waiters();
            })
        };
        let started = Instant::now();
        let deadline = started + Duration::from_secs(3);
        assert!(hub.wait_until(Some(deadline), || closing.load(Ordering::SeqCst)));
        assert!(started.elapsed() < Duration::from_millis(1500));
        closer.join().unwrap();
    }

    #[tokio::test]
    async fn wait_driving_resolves_on_a_publish() {
        let hub = Arc::new(Hub::new().unwrap());
        let table = Arc::new(Table::new(1));
        let done = Arc::new(AtomicBool::new(false));
        let c = completion(&table, 1, 200);
        let publisher = {
            let (hub, table, done) = (hub.clone(), table.clone(), done.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                hub.publish(c, &table, true, || done.store(true, Ordering::SeqCst));
            })
        };
        let started = Instant::now();
        let r = hub
            .wait_driving(Some(started + Duration::from_secs(3)), || {
                done.load(Ordering::SeqCst)
            })
            .await;
        assert!(r);
        assert!(started.elapsed() < Duration::from_millis(1500));
        publisher.await.unwrap();
        assert!(lock(&hub.wakers).is_empty());
    }

    #[tokio::test]
    async fn wait_driving_times_out_and_forgets_its_waker() {
        let hub = Hub::new().unwrap();
        let started = Instant::now();
        let r = hub
            .wait_driving(Some(started + Duration::from_millis(30)), || false)
            .await;
        assert!(!r);
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(lock(&hub.wakers).is_empty(), "no waker left behind");
    }
}
