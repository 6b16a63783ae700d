//! The background tokio runtime a client owns.
//!
//! One worker (the default) is a current-thread runtime driven by a dedicated thread: the
//! cheapest hand-off, since all I/O and completions happen on one thread that parks in
//! epoll. More workers use tokio's multi-thread scheduler. Either way the hub is flushed
//! from the park hook, so a burst of completions costs the caller one wake-up.
//!
//! A current-thread runtime can also be driven by a caller blocked in `wait` (see
//! [`Runtime::drive`]): the background thread hands the runtime over while callers wait and
//! takes it back once none has waited for `LINGER`. A caller that waits for its own request
//! then does the I/O on its own thread, with no thread switch in the round trip.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::completion::Hub;
use crate::error::{Error, ErrorKind, Result};

/// How long shutdown waits for blocking-pool threads (a name lookup in progress).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How long the background thread leaves the runtime to callers after the last one stopped
/// waiting: a caller that waits again within it finds the runtime free.
const LINGER: Duration = Duration::from_millis(1);

enum Owner {
    Current {
        thread: JoinHandle<()>,
        thread_id: ThreadId,
    },
    Multi(tokio::runtime::Runtime),
}

/// Who drives a current-thread runtime: its background thread, or callers blocked in wait.
struct Driving {
    state: Mutex<DriveState>,
    /// The background thread sleeps on it while callers may drive.
    cv: Condvar,
    /// Asks the background thread to leave `block_on`, freeing the runtime for a caller.
    release: tokio::sync::Notify,
    /// Threads inside `block_on` (the background thread or callers): while it is 0 nobody
    /// runs the runtime, so waking it is pointless (see `Runtime::is_driven`).
    inside: AtomicUsize,
    /// Run first by whoever takes the runtime: starts work queued while nobody ran it.
    kick: Kick,
}

/// See `Driving::kick`.
pub type Kick = Arc<dyn Fn() + Send + Sync>;

struct DriveState {
    /// For callers; taken at shutdown (then nobody may drive any more).
    rt: Option<Arc<tokio::runtime::Runtime>>,
    /// Callers inside `drive`.
    callers: usize,
    /// The background thread is inside `block_on` (or about to be).
    background: bool,
    stop: bool,
    last_exit: Instant,
}

impl Driving {
    fn lock(&self) -> MutexGuard<'_, DriveState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The background thread's loop: drive the runtime until a caller wants it, give it up
    /// while callers drive, take it back when they have been gone for `LINGER`.
    fn background(&self, rt: Arc<tokio::runtime::Runtime>) {
        loop {
            self.inside.fetch_add(1, Ordering::SeqCst);
            rt.block_on(async {
                (self.kick)();
                loop {
                    let asked = self.release.notified();
                    {
                        let s = self.lock();
                        if s.stop || s.callers > 0 {
                            return;
                        }
                    }
                    asked.await;
                }
            });
            self.inside.fetch_sub(1, Ordering::SeqCst);
            let mut s = self.lock();
            s.background = false;
            loop {
                if s.stop {
                    while s.callers > 0 {
                        s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
                    }
                    s.rt = None;
                    drop(s);
                    match Arc::try_unwrap(rt) {
                        Ok(rt) => rt.shutdown_timeout(SHUTDOWN_GRACE),
                        Err(rt) => drop(rt),
                    }
                    return;
                }
                let idle = s.last_exit.elapsed();
                if s.callers == 0 && idle >= LINGER {
                    s.background = true;
                    break;
                }
                let nap = if s.callers > 0 { LINGER } else { LINGER - idle };
                s = self
                    .cv
                    .wait_timeout(s, nap)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.cv.notify_all();
        self.release.notify_one();
    }
}

/// Counts a caller out of `drive` even if the future panicked.
struct Leave<'a>(&'a Driving);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.inside.fetch_sub(1, Ordering::SeqCst);
        let mut s = self.0.lock();
        s.callers -= 1;
        s.last_exit = Instant::now();
        if s.callers == 0 && s.stop {
            self.0.cv.notify_all();
        }
    }
}

pub struct Runtime {
    handle: tokio::runtime::Handle,
    owner: Mutex<Option<Owner>>,
    driving: Option<Arc<Driving>>,
}

impl Runtime {
    pub fn start(workers: usize, hub: Arc<Hub>, kick: Kick) -> Result<Runtime> {
        let fail = |e: std::io::Error| {
            Error::new(ErrorKind::Internal, format!("starting the runtime: {e}"))
        };
        let mut builder = if workers <= 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        };
        let park_hub = hub.clone();
        builder
            .enable_all()
            .thread_name("httpring-io")
            .on_thread_park(move || park_hub.flush());
        let rt = builder.build().map_err(fail)?;
        let handle = rt.handle().clone();
        let (owner, driving) = if workers <= 1 {
            let rt = Arc::new(rt);
            let driving = Arc::new(Driving {
                state: Mutex::new(DriveState {
                    rt: Some(rt.clone()),
                    callers: 0,
                    background: true,
                    stop: false,
                    last_exit: Instant::now(),
                }),
                cv: Condvar::new(),
                release: tokio::sync::Notify::new(),
                inside: AtomicUsize::new(0),
                kick,
            });
            let d = driving.clone();
            let thread = std::thread::Builder::new()
                .name("httpring-io".into())
                .spawn(move || d.background(rt))
                .map_err(fail)?;
            let owner = Owner::Current {
                thread_id: thread.thread().id(),
                thread,
            };
            (owner, Some(driving))
        } else {
            (Owner::Multi(rt), None)
        };
        handle.spawn(hub.run_flusher());
        Ok(Runtime {
            handle,
            owner: Mutex::new(Some(owner)),
            driving,
        })
    }

    /// Runs `fut` to completion on the calling thread, driving the runtime's I/O and tasks
    /// meanwhile, as the background thread would. `None` when that is not possible: a
    /// multi-thread runtime, a thread already inside a runtime (a completion callback), or
    /// a runtime shutting down; the caller then blocks some other way.
    pub fn drive<F: Future>(&self, fut: F) -> Option<F::Output> {
        let d = self.driving.as_deref()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return None;
        }
        let rt = {
            let mut s = d.lock();
            let rt = s.rt.clone().filter(|_| !s.stop)?;
            s.callers += 1;
            if s.background {
                d.release.notify_one();
            }
            rt
        };
        d.inside.fetch_add(1, Ordering::SeqCst);
        let _leave = Leave(d);
        let out = rt.block_on(async {
            (d.kick)();
            fut.await
        });
        drop(rt);
        Some(out)
    }

    /// Whether some thread runs the runtime right now (always, for a multi-thread one).
    /// When none does, the next thread to take it runs the kick first.
    pub fn is_driven(&self) -> bool {
        self.driving
            .as_ref()
            .is_none_or(|d| d.inside.load(Ordering::SeqCst) > 0)
    }

    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// Stops the runtime: every task is dropped (closing its sockets) and the threads are
    /// joined, unless called from a runtime thread (a completion callback), in which case
    /// the threads finish on their own as soon as the callback returns.
    pub fn shutdown(&self) {
        let owner = self.owner.lock().unwrap_or_else(|p| p.into_inner()).take();
        match owner {
            None => {}
            Some(Owner::Current { thread, thread_id }) => {
                if let Some(d) = &self.driving {
                    d.stop();
                }
                // Not from inside the runtime (a completion callback, on the background
                // thread or on a caller driving it): the thread finishes once that returns.
                let inside = tokio::runtime::Handle::try_current().is_ok();
                if std::thread::current().id() != thread_id && !inside {
                    let _ = thread.join();
                }
            }
            Some(Owner::Multi(rt)) => {
                if tokio::runtime::Handle::try_current().is_ok() {
                    rt.shutdown_background();
                } else {
                    rt.shutdown_timeout(SHUTDOWN_GRACE);
                }
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown();
    }
}
