//! The background tokio runtime a client owns.
//!
//! One worker (the default) is a current-thread runtime driven by a dedicated thread: the
//! cheapest hand-off, since all I/O and completions happen on one thread that parks in
//! epoll. More workers use tokio's multi-thread scheduler. Either way the hub is flushed
//! from the park hook, so a burst of completions costs the caller one wake-up.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::completion::Hub;
use crate::error::{Error, ErrorKind, Result};

/// How long shutdown waits for blocking-pool threads (a name lookup in progress).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

enum Owner {
    Current {
        stop: oneshot::Sender<()>,
        thread: JoinHandle<()>,
        thread_id: ThreadId,
    },
    Multi(tokio::runtime::Runtime),
}

pub struct Runtime {
    handle: tokio::runtime::Handle,
    owner: Mutex<Option<Owner>>,
}

impl Runtime {
    pub fn start(workers: usize, hub: Arc<Hub>) -> Result<Runtime> {
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
        let owner = if workers <= 1 {
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name("httpring-io".into())
                .spawn(move || {
                    rt.block_on(async {
                        let _ = stopped.await;
                    });
                    rt.shutdown_timeout(SHUTDOWN_GRACE);
                })
                .map_err(fail)?;
            Owner::Current {
                stop,
                thread_id: thread.thread().id(),
                thread,
            }
        } else {
            Owner::Multi(rt)
        };
        handle.spawn(hub.run_flusher());
        Ok(Runtime {
            handle,
            owner: Mutex::new(Some(owner)),
        })
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
            Some(Owner::Current {
                stop,
                thread,
                thread_id,
            }) => {
                let _ = stop.send(());
                if std::thread::current().id() != thread_id {
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
