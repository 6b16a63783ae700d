//! Live clients by id. A `httpring_client *` is an id, never dereferenced: a freed or
//! made-up client pointer is looked up, not followed, so it yields an error code.
//!
//! fork(): a child inherits the registry but not the clients' runtime threads, so a client
//! made before the fork is dead in the child. A fork counter bumped by a `pthread_atfork`
//! child handler marks such clients: in the child they report `HTTPRING_ERR_CLIENT_CLOSED`,
//! and freeing one releases its id without touching the runtime (its memory is left alone
//! rather than risk waiting for threads that do not exist). New clients work normally: the
//! handlers hold this library's process-wide locks across the fork, so none is inherited
//! held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Once, RwLock};

use super::client::httpring_client;
use super::code::httpring_code;
use crate::Client;

static CLIENTS: LazyLock<RwLock<HashMap<usize, Entry>>> = LazyLock::new(Default::default);
/// How many fork()s this process is removed from its ancestors.
static FORKS: AtomicU64 = AtomicU64::new(0);
static AT_FORK: Once = Once::new();

struct Entry {
    client: Arc<Client>,
    /// `FORKS` when the client was made: a different value means we are in a forked child.
    forks: u64,
}

thread_local! {
    /// The process-wide locks the forking thread holds across a fork().
    static HELD: std::cell::RefCell<Vec<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Before fork(): takes every process-wide lock this library has, in the order its code
/// nests them (a request's lock, then a form's; configs; live tags; the registry), so the
/// child cannot inherit one held by a thread that does not exist there (its first call
/// would wait forever). Threads inside calls finish their short critical sections first.
extern "C" fn before_fork() {
    let _ = std::panic::catch_unwind(|| {
        let mut held: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(64);
        super::request::REQUESTS.hold_all(&mut held);
        super::multipart::FORMS.hold_all(&mut held);
        super::config::CONFIGS.hold_all(&mut held);
        super::content::DECODERS.hold_all(&mut held);
        held.push(Box::new(crate::client::hold_tags()));
        held.push(Box::new(CLIENTS.write().unwrap_or_else(|p| p.into_inner())));
        HELD.with(|h| *h.borrow_mut() = held);
    });
}

/// After fork(), in the parent: lets the locks go; connections closed from now on are shut
/// down (a child holds copies of their sockets).
extern "C" fn after_fork_in_parent() {
    crate::transport::FORKED.store(true, Ordering::Relaxed);
    let _ = std::panic::catch_unwind(|| HELD.with(|h| h.borrow_mut().clear()));
}

/// After fork(), in the child: the clients made before are dead here (see the module
/// comment); the locks are free again.
extern "C" fn in_child_after_fork() {
    FORKS.fetch_add(1, Ordering::SeqCst);
    crate::transport::FORKED.store(true, Ordering::Relaxed);
    let _ = std::panic::catch_unwind(|| HELD.with(|h| h.borrow_mut().clear()));
}

/// Installs the fork handlers, once, before the library first takes one of its locks.
pub(crate) fn handle_forks() {
    AT_FORK.call_once(|| {
        LazyLock::force(&CLIENTS);
        // SAFETY: the handlers only take and release this library's own locks and touch
        // atomics, and catch panics.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(in_child_after_fork),
            )
        };
    });
}
/// Ids step by 16 so they look like aligned pointers; they are never reused.
static NEXT_ID: AtomicUsize = AtomicUsize::new(16);

pub(crate) fn register(client: Client) -> *mut httpring_client {
    handle_forks();
    let id = NEXT_ID.fetch_add(16, Ordering::Relaxed);
    let entry = Entry {
        client: Arc::new(client),
        forks: FORKS.load(Ordering::SeqCst),
    };
    CLIENTS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, entry);
    std::ptr::without_provenance_mut(id)
}

/// The live client behind `p`. Holding the returned `Arc` keeps it usable even if another
/// thread frees it meanwhile (the call then sees the client as closed).
pub(crate) fn lookup(p: *const httpring_client) -> Result<Arc<Client>, httpring_code> {
    if p.is_null() {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    let clients = CLIENTS.read().unwrap_or_else(|p| p.into_inner());
    match clients.get(&p.addr()) {
        Some(e) if e.forks == FORKS.load(Ordering::Relaxed) => Ok(e.client.clone()),
        _ => Err(httpring_code::HTTPRING_ERR_CLIENT_CLOSED),
    }
}

/// Removes a client; `None` when it was made before a fork (and must not be shut down).
pub(crate) fn unregister(p: *const httpring_client) -> Result<Option<Arc<Client>>, httpring_code> {
    if p.is_null() {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    let entry = CLIENTS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&p.addr())
        .ok_or(httpring_code::HTTPRING_ERR_CLIENT_CLOSED)?;
    if entry.forks == FORKS.load(Ordering::SeqCst) {
        Ok(Some(entry.client))
    } else {
        std::mem::forget(entry.client);
        Ok(None)
    }
}
