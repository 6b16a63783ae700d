//! Live clients by id. A `httpring_client *` is an id, never dereferenced: a freed or
//! made-up client pointer is looked up, not followed, so it yields an error code.
//!
//! fork(): a child inherits the registry but not the clients' runtime threads, so a client
//! made before the fork is dead in the child. A fork counter bumped by a `pthread_atfork`
//! child handler marks such clients: in the child they report `HTTPRING_ERR_CLIENT_CLOSED`,
//! and freeing one releases its id without touching the runtime (its memory is left alone
//! rather than risk waiting for threads that do not exist). New clients work normally.

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

extern "C" fn in_child_after_fork() {
    FORKS.fetch_add(1, Ordering::SeqCst);
}
/// Ids step by 16 so they look like aligned pointers; they are never reused.
static NEXT_ID: AtomicUsize = AtomicUsize::new(16);

pub(crate) fn register(client: Client) -> *mut httpring_client {
    AT_FORK.call_once(|| {
        // SAFETY: the handler only bumps an atomic, which is async-signal-safe.
        unsafe { libc::pthread_atfork(None, None, Some(in_child_after_fork)) };
    });
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
