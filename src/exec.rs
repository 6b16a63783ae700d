//! Running one request on the runtime: connect or reuse, send, read the body, complete.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, HOST};
use http::uri::PathAndQuery;
use http::{Method, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::Shared;
use crate::error::{Error, ErrorKind, Result};
use crate::exchange::Exchange;
use crate::pool::{Conn, PoolKey};
use crate::request::Request;
use crate::response::Response;

/// The limits in force for one request, after per-request overrides.
struct Limits {
    connect: Option<Duration>,
    total: Option<Duration>,
    read: Option<Duration>,
    max_body: u64,
}

/// The task body: runs the request and completes its exchange exactly once. If the task is
/// aborted (cancel, client closed) or panics, the guard completes the exchange instead.
pub(crate) async fn run(shared: Arc<Shared>, ex: Arc<Exchange>, req: Request) {
    let guard = CompleteOnDrop {
        shared: &shared,
        ex: &ex,
    };
    let outcome = execute(&shared, req, ex.started).await;
    std::mem::forget(guard);
    shared.complete(&ex, outcome, true);
}

struct CompleteOnDrop<'a> {
    shared: &'a Shared,
    ex: &'a Exchange,
}

impl Drop for CompleteOnDrop<'_> {
    fn drop(&mut self) {
        let err = if std::thread::panicking() {
            Error::new(
                ErrorKind::Internal,
                "request task panicked (a bug in httpring)",
            )
        } else {
            Error::new(ErrorKind::Cancelled, "request cancelled")
        };
        self.shared.complete(self.ex, Err(err), true);
    }
}

async fn execute(shared: &Shared, req: Request, started: Instant) -> Result<Response> {
    let cfg = &shared.config;
    let o = req.timeouts;
    let limits = Limits {
        connect: o.connect.unwrap_or(cfg.connect_timeout),
        total: o.total.unwrap_or(cfg.timeout),
        read: o.read.unwrap_or(cfg.read_timeout),
        max_body: cfg.max_body_size,
    };
    match limits.total {
        Some(total) => {
            let deadline = tokio::time::Instant::from_std(started) + total;
            match tokio::time::timeout_at(deadline, send(shared, req, &limits, started)).await {
                Ok(r) => r,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!("request did not complete within the total timeout of {total:?}"),
                )),
            }
        }
        None => send(shared, req, &limits, started).await,
    }
}

async fn send(
    shared: &Shared,
    req: Request,
    limits: &Limits,
    started: Instant,
) -> Result<Response> {
    let authority = req
        .uri
        .authority()
        .cloned()
        .ok_or_else(|| Error::new(ErrorKind::InvalidUrl, "URL has no host"))?;
    let key = PoolKey { authority };
    let url = req.url.clone();
    let mut hreq = build(shared, req)?;
    let mut retried = false;
    let (mut conn, resp) = loop {
        let mut conn = match checkout(shared, &key).await {
            Some(c) => c,
            None => connect(&key.authority, limits.connect).await?,
        };
        let sent = within(limits.read, conn.tx.try_send_request(hreq), || {
            read_timeout_error(limits.read, "waiting for the response head")
        })
        .await?;
        match sent {
            Ok(resp) => break (conn, resp),
            Err(mut e) => {
                // A pooled connection the server closed just before we wrote: the request
                // was never sent, so it is safe to send it once more on a new connection.
                match e.take_message() {
                    Some(back) if conn.reused && !retried => {
                        retried = true;
                        hreq = back;
                        continue;
                    }
                    _ => return Err(map_hyper(e.into_error(), "sending the request")),
                }
            }
        }
    };

    let (parts, body) = resp.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return Err(too_large(limits.max_body));
    }
    let body = read_body(body, declared, limits).await?;
    let close = parts
        .headers
        .get(CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    if !close {
        conn.reused = false;
        shared.pool.put(key, conn);
    }
    Ok(Response::new(
        parts.status.as_u16(),
        parts.version,
        parts.headers,
        body,
        url,
        started.elapsed(),
    ))
}

/// Turns the caller's request into what goes on the wire: origin-form target, Host, the
/// client's default headers under the request's own, and a Content-Length for bodies.
fn build(shared: &Shared, req: Request) -> Result<http::Request<Full<Bytes>>> {
    let Request {
        method,
        uri,
        mut headers,
        body,
        ..
    } = req;
    for (name, value) in &shared.config.default_headers {
        if !headers.contains_key(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if !headers.contains_key(HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let value = HeaderValue::from_str(host).map_err(|_| {
            Error::new(ErrorKind::InvalidUrl, "URL host is not a valid Host header")
        })?;
        headers.insert(HOST, value);
    }
    let wants_length =
        !body.is_empty() || matches!(method, Method::POST | Method::PUT | Method::PATCH);
    if wants_length && !headers.contains_key(CONTENT_LENGTH) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let target = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let mut out = http::Request::new(Full::new(body));
    *out.method_mut() = method;
    *out.uri_mut() = Uri::from(target);
    *out.headers_mut() = headers;
    Ok(out)
}

/// An idle pooled connection that is still usable.
async fn checkout(shared: &Shared, key: &PoolKey) -> Option<Conn> {
    while let Some(mut conn) = shared.pool.take(key) {
        if conn.tx.ready().await.is_ok() {
            return Some(conn);
        }
    }
    None
}

async fn connect(authority: &http::uri::Authority, limit: Option<Duration>) -> Result<Conn> {
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority.port_u16().unwrap_or(80);
    let stream = within(limit, open_tcp(host, port), || {
        Error::new(
            ErrorKind::ConnectTimeout,
            format!(
                "could not connect to {host}:{port} within the connect timeout of {:?}",
                limit.unwrap_or_default()
            ),
        )
    })
    .await??;
    let (tx, conn) = hyper::client::conn::http1::Builder::new()
        .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| map_hyper(e, "starting the HTTP/1.1 connection"))?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn::new(tx, task.abort_handle()))
}

async fn open_tcp(host: &str, port: u16) -> Result<TcpStream> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::new(ErrorKind::Dns, format!("could not resolve {host:?}: {e}")))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Error::new(
            ErrorKind::ConnectRefused,
            format!("connection to {addr} refused"),
        ),
        Some((addr, e)) => Error::new(
            ErrorKind::Connect,
            format!("could not connect to {addr}: {e}"),
        ),
        None => Error::new(ErrorKind::Dns, format!("{host:?} resolved to no addresses")),
    })
}

/// Reads the whole body, enforcing the size limit and the read (idle) timeout between frames.
async fn read_body(mut body: Incoming, declared: Option<u64>, limits: &Limits) -> Result<Bytes> {
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let mut total: u64 = 0;
    let mut idle = pin!(tokio::time::sleep(limits.read.unwrap_or(Duration::MAX / 4)));
    loop {
        if let Some(d) = limits.read {
            idle.as_mut().reset(tokio::time::Instant::now() + d);
        }
        let frame = tokio::select! {
            biased;
            f = body.frame() => f,
            _ = idle.as_mut(), if limits.read.is_some() => {
                return Err(read_timeout_error(limits.read, "reading the response body"));
            }
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| map_hyper(e, "reading the response body"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total > limits.max_body {
            return Err(too_large(limits.max_body));
        }
        if first.is_none() && buf.is_empty() {
            first = Some(data);
        } else {
            if let Some(f) = first.take() {
                let hint = declared.unwrap_or(0).min(limits.max_body) as usize;
                buf.reserve(hint.max(f.len() + data.len()));
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(if buf.is_empty() {
        first.unwrap_or_default()
    } else {
        buf.freeze()
    })
}

/// Runs `fut` under an optional time limit; `on_timeout` builds the error.
async fn within<F: Future>(
    limit: Option<Duration>,
    fut: F,
    on_timeout: impl FnOnce() -> Error,
) -> Result<F::Output> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut).await.map_err(|_| on_timeout()),
        None => Ok(fut.await),
    }
}

fn read_timeout_error(limit: Option<Duration>, what: &str) -> Error {
    Error::new(
        ErrorKind::ReadTimeout,
        format!(
            "no data from the server for {:?} while {what}",
            limit.unwrap_or_default()
        ),
    )
}

fn too_large(max: u64) -> Error {
    Error::new(
        ErrorKind::BodyTooLarge,
        format!("response body exceeds the maximum of {max} bytes"),
    )
}

/// Classifies a hyper error and keeps its whole cause chain in the message.
fn map_hyper(e: hyper::Error, what: &str) -> Error {
    let mut message = format!("{what}: {e}");
    let mut source = std::error::Error::source(&e);
    let mut io = false;
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        io |= s.is::<std::io::Error>();
        source = s.source();
    }
    let kind = if e.is_parse() || e.is_parse_status() || e.is_incomplete_message() {
        ErrorKind::Protocol
    } else if io || e.is_canceled() || e.is_closed() || e.is_body_write_aborted() {
        ErrorKind::Io
    } else if e.is_user() {
        ErrorKind::Internal
    } else {
        ErrorKind::Protocol
    };
    Error::new(kind, message)
}
