//! What a client's tasks share with it: its configuration, handle table, completion hub,
//! pool, connector and inbox, and the spares it recycles. Fields are private: the layers
//! above reach them through the methods here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use http::header::HeaderMap;

use super::completion::Hub;
use super::inbox::Inbox;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::cookies::Jar;
use crate::pool::{Pool, PoolLimits};
use crate::request::{Exchange, Handle, Request, Response, Table, UrlCache};
use crate::transport::Connector;

/// What the client's tasks share with it.
pub(crate) struct Shared {
    config: Config,
    table: Table,
    hub: Arc<Hub>,
    pool: Arc<Pool>,
    connector: Connector,
    inbox: Arc<Inbox>,
    url_cache: UrlCache,
    /// The cookie jar, when the config asks for one.
    jar: Option<Jar>,
    /// Parts of freed requests kept for new ones (see `recycle`).
    spares: Mutex<Spares>,
    /// Requests registered and not yet completed; counted only under `max_in_flight`.
    in_flight: AtomicUsize,
}

/// See `Shared::recycle`.
#[derive(Default)]
struct Spares {
    /// Emptied header maps of freed responses (see `spare_map`).
    maps: Vec<HeaderMap>,
    /// Exchanges nobody else holds, their outcome already dropped (see `new_exchange`).
    exchanges: Vec<Arc<Exchange>>,
    /// Boxes of requests already taken apart for sending (see `keep_request_box`): the
    /// allocations are what is kept, so the boxes stay boxes.
    #[allow(clippy::vec_box)]
    requests: Vec<Box<Request>>,
}

impl Shared {
    pub(crate) fn new(
        mut config: Config,
        table: Table,
        hub: Arc<Hub>,
        connector: Connector,
    ) -> Shared {
        // Decompression advertises what it decodes, unless the caller chose what to accept.
        if config.decompress {
            if let http::header::Entry::Vacant(slot) =
                config.default_headers.entry(http::header::ACCEPT_ENCODING)
            {
                slot.insert(http::HeaderValue::from_static(
                    crate::policy::decode::ACCEPT,
                ));
            }
        }
        let pool = Arc::new(Pool::with_limits(PoolLimits {
            max_idle_per_host: config.pool_max_idle_per_host,
            max_idle: config.pool_max_idle,
            idle_timeout: config.pool_idle_timeout,
            max_per_host: config.max_connections_per_host,
            max_total: config.max_connections,
        }));
        let jar = config.cookies.then(Jar::new);
        Shared {
            config,
            table,
            hub,
            pool,
            connector,
            inbox: Arc::default(),
            url_cache: UrlCache::default(),
            jar,
            spares: Mutex::default(),
            in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The handle table: live requests by handle.
    pub(crate) fn table(&self) -> &Table {
        &self.table
    }

    /// Where completions are published for drain, wait and the callback.
    pub(crate) fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    pub(crate) fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Submitted requests on their way to the runtime.
    pub(crate) fn inbox(&self) -> &Arc<Inbox> {
        &self.inbox
    }

    pub(crate) fn jar(&self) -> Option<&Jar> {
        self.jar.as_ref()
    }

    pub(crate) fn url_cache(&self) -> &UrlCache {
        &self.url_cache
    }

    /// The single place a request completes: records the outcome (first caller wins), then
    /// publishes it; the exchange turns complete under the queue's lock, so whoever sees
    /// it complete also finds it queued.
    pub(crate) fn complete(&self, ex: &Exchange, outcome: Result<Response>, on_runtime: bool) {
        if let Some(c) = ex.record(outcome) {
            if self.config.max_in_flight.is_some() {
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
            }
            self.hub.publish(c, &self.table, on_runtime, || {
                ex.mark_complete(c.error.is_none())
            });
        }
    }

    /// Tells a streamed body's reader, through the same paths as completions, that its body
    /// has something (data, its end, an error) after a read found nothing.
    /// (`on_runtime` false: from a caller's thread, the fd is signalled at once.)
    pub(crate) fn announce(&self, ex: &Exchange, on_runtime: bool) {
        self.hub
            .publish(ex.body_event(), &self.table, on_runtime, || {});
    }

    /// Tells the writer of a pushed request body that it has room again.
    pub(crate) fn announce_writable(&self, ex: &Exchange, on_runtime: bool) {
        self.hub
            .publish(ex.writable_event(), &self.table, on_runtime, || {});
    }

    /// An empty header map, with room for a typical response's headers when one is spare.
    /// (A request's map becomes its response's: hyper parses the response into it.)
    pub(crate) fn spare_map(&self) -> HeaderMap {
        self.spares().maps.pop().unwrap_or_default()
    }

    /// Gives a validated request a handle and an exchange, reusing a freed exchange and
    /// request box when there are spares. The request is boxed from here on: it moves
    /// through the inbox into the request's task as one pointer rather than a few hundred
    /// bytes at every step.
    pub(crate) fn register(&self, req: Request) -> Result<(Handle, Arc<Exchange>, Box<Request>)> {
        if let Some(max) = self.config.max_in_flight {
            if self.in_flight.fetch_add(1, Ordering::AcqRel) >= max {
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
                return Err(Error::new(
                    ErrorKind::TooManyInFlight,
                    format!("the client already has its maximum of {max} requests in flight"),
                ));
            }
        }
        let (mut spare_ex, spare_box) = {
            let mut spares = self.spares();
            (spares.exchanges.pop(), spares.requests.pop())
        };
        let inserted = self
            .table
            .insert_with(|h| self.new_exchange(spare_ex.take(), h, &req));
        let (handle, ex) = match inserted {
            Ok(inserted) => inserted,
            Err(e) => {
                if self.config.max_in_flight.is_some() {
                    self.in_flight.fetch_sub(1, Ordering::AcqRel);
                }
                // No slot (too many live handles): the spares go back for later requests.
                let mut spares = self.spares();
                spares.exchanges.extend(spare_ex);
                spares.requests.extend(spare_box);
                return Err(e);
            }
        };
        let boxed = match spare_box {
            Some(mut b) => {
                *b = req;
                b
            }
            None => Box::new(req),
        };
        Ok((handle, ex, boxed))
    }

    /// Spare (exchanges, request boxes) kept: for tests of the recycling.
    #[cfg(test)]
    pub(crate) fn spare_counts(&self) -> (usize, usize) {
        let s = self.spares();
        (s.exchanges.len(), s.requests.len())
    }

    /// A new exchange, in the memory of `spare` (a freed one) when there is one.
    fn new_exchange(
        &self,
        spare: Option<Arc<Exchange>>,
        handle: Handle,
        req: &Request,
    ) -> Arc<Exchange> {
        let upload = req.upload.clone();
        if let Some(mut ex) = spare {
            // Always unique: only exchanges nobody else held were kept.
            if let Some(e) = Arc::get_mut(&mut ex) {
                *e = Exchange::new(handle, req.user_data, upload);
                return ex;
            }
        }
        Arc::new(Exchange::new(handle, req.user_data, upload))
    }

    /// Keeps the box of a request its task has taken apart, for a later request: like
    /// exchanges, requests are boxed and freed in batches larger than malloc's cache.
    pub(crate) fn keep_request_box(&self, boxed: Box<Request>) {
        let mut spares = self.spares();
        if spares.requests.len() < SPARES_MAX {
            spares.requests.push(boxed);
        }
    }

    fn spares(&self) -> MutexGuard<'_, Spares> {
        self.spares.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps what a freed request leaves for later ones: its exchange, once nobody else
    /// holds it, and its response's header map. Requests come and go in batches, more at a
    /// time than malloc's per-thread cache keeps, and a header map is allocated on the
    /// runtime's thread and freed on the caller's: each would cost a slow allocation and
    /// free per request. The outcome (the response's body) is dropped here, not at reuse, so
    /// its buffer is released now. Large maps (unusual responses) and a full stock are dropped.
    pub(crate) fn recycle(&self, mut ex: Arc<Exchange>) {
        let Some(e) = Arc::get_mut(&mut ex) else {
            return;
        };
        let map = match e.take_outcome() {
            Some(Ok(mut r)) if r.headers.capacity() <= SPARE_MAP_MAX_CAPACITY => {
                let mut map = std::mem::take(&mut r.headers);
                drop(r);
                map.clear();
                Some(map)
            }
            _ => None,
        };
        let mut spares = self.spares();
        if let Some(map) = map {
            if spares.maps.len() < SPARES_MAX {
                spares.maps.push(map);
            }
        }
        if spares.exchanges.len() < SPARES_MAX {
            spares.exchanges.push(ex);
        }
    }

    /// Completes a request as cancelled (if it has not completed) from the caller's side,
    /// and stops its task, which drops its connection.
    pub(crate) fn cancel(&self, ex: &Exchange, why: &'static str) {
        self.complete(ex, Err(Error::new(ErrorKind::Cancelled, why)), false);
        ex.abort_task();
    }
}

/// Spare header maps and exchanges kept per client (each), and the largest map kept (in
/// headers).
const SPARES_MAX: usize = 256;
const SPARE_MAP_MAX_CAPACITY: usize = 24;
