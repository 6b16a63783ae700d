//! The completion hub: how finished requests reach the caller.
//!
//! Three paths, all fed from one place (`Hub::publish`), so every completion is counted once:
//! - a queue the caller drains in batches, announced by an eventfd that is readable while
//!   the queue is non-empty. The eventfd is written at most once per runtime tick (from the
//!   park hook), or sooner after `FLUSH_EVERY` completions or `FLUSH_DELAY` on a runtime
//!   too busy to park, so many completions cost the caller one wake-up;
//! - a condition variable for threads blocked in `wait*`, notified immediately, and wakers
//!   for threads that drive the runtime while they wait (`Hub::wait_driving`);
//! - an optional callback, run on the thread that completed the request.

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::task::{Poll, Waker};
use std::time::Instant;

use rustix::event::{eventfd, EventfdFlags};

use crate::error::{Error, ErrorKind, Result};
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
    eventfd: OwnedFd,
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
        let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("eventfd: {e}")))?;
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
        self.eventfd.as_fd()
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
        let _ = rustix::io::write(&self.eventfd, &1u64.to_ne_bytes());
        // A drain may have emptied the queue and reset the flag before the write landed:
        // then nothing is left to announce, and the fd must not stay readable.
        let q = lock(&self.queue);
        if !q.signaled && q.items.is_empty() {
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(&self.eventfd, &mut buf);
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
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(&self.eventfd, &mut buf);
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
