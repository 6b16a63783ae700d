//! Transport: everything below HTTP semantics that gets a request a connection. Resolving
//! names (`dns`), opening TCP or Unix sockets through proxies (`proxy`) with TLS (`tls`),
//! the HTTP/1.1 or HTTP/2 handshake (`connect`), the connection type requests use (`conn`),
//! and the write timeout where no socket write blocks: an HTTP/2 window the server stops
//! granting (`window`). Depends only on `config` and `error`.

mod conn;
mod connect;
mod dns;
mod proxy;
mod quickack;
mod tls;
mod window;

#[cfg(test)]
pub(crate) use conn::test_support;
pub(crate) use conn::{
    hint_with_held, watch_handed, Body, Conn, ConnFacts, Hold, PoolKey, Streams,
};
pub(crate) use connect::{Connector, Phase};
pub(crate) use proxy::Proxy;
pub(crate) use quickack::{last_write, Traffic, FORKED};
pub(crate) use window::{pace, Watch};

use crate::error::{Error, ErrorKind};

/// Classifies a hyper error and keeps its whole cause chain in the message.
/// The connection's task had ended when the request was handed to it (hyper calls this a
/// user error; here it is a connection that died, e.g. an HTTP/2 connection going down).
fn dispatch_gone(e: &hyper::Error) -> bool {
    e.is_user() && e.to_string().contains("dispatch task is gone")
}

pub(crate) fn map_hyper(e: hyper::Error, what: &str) -> Error {
    let mut message = format!("{what}: {e}");
    // hyper says the same for too many header lines and too many bytes (its
    // `is_parse_too_large` exists only with its server feature).
    if e.is_parse() && message.ends_with("message head is too large") {
        message.push_str(
            " (more header lines than the limit, httpring_config_set_max_response_headers, \
             a head larger than hyper's buffer, or a Content-Length too large to hold)",
        );
    }
    let mut source = std::error::Error::source(&e);
    let mut io = false;
    let mut truncated = false;
    let mut tls = false;
    while let Some(s) = source {
        // A streamed request body's own failure (its source, or the request ending).
        if let Some(own) = s.downcast_ref::<Error>() {
            return own.clone();
        }
        message.push_str(": ");
        message.push_str(&s.to_string());
        if let Some(ioe) = s.downcast_ref::<std::io::Error>() {
            io = true;
            // The peer closed before the announced length: a lie, not a network fault. Bad
            // chunked framing (size line, overflow, missing CRLF, endless trailers) hyper's
            // body decoder reports as InvalidInput or InvalidData: the peer broke HTTP too.
            truncated |= matches!(
                ioe.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::InvalidInput
            );
            // An alert after the handshake (a client certificate the server refused).
            tls |= ioe.get_ref().is_some_and(|i| i.is::<rustls::Error>());
        }
        tls |= s.is::<rustls::Error>();
        // HTTP/2 carries a socket failure (a reset) inside its own error, not as a source.
        io |= s.downcast_ref::<h2::Error>().is_some_and(h2::Error::is_io);
        source = s.source();
    }
    let kind = if quickack::is_write_timeout(&e) {
        ErrorKind::WriteTimeout
    } else if e.is_timeout() {
        // The one timer hyper runs for a client: HTTP/2 keep-alive (`Http2Keepalive`).
        message
            .push_str(" (the server did not answer an HTTP/2 PING within the keep-alive timeout)");
        ErrorKind::ReadTimeout
    } else if tls {
        ErrorKind::Tls
    } else if e.is_parse() || e.is_parse_status() || e.is_incomplete_message() || truncated {
        ErrorKind::Protocol
    } else if io
        || e.is_canceled()
        || e.is_closed()
        || e.is_body_write_aborted()
        || dispatch_gone(&e)
    {
        ErrorKind::Io
    } else if e.is_user() && !dispatch_gone(&e) {
        ErrorKind::Internal
    } else {
        ErrorKind::Protocol
    };
    Error::new(kind, message)
}

/// An I/O failure of a request on `conn` after the socket's write timed out is that
/// timeout. HTTP/2 needs this: h2 fails the streams of a connection whose write failed while
/// flushing with only "broken pipe", the cause dropped (`quickack::timed_out`).
pub(crate) fn blame_write_timeout(conn: &Conn, err: Error) -> Error {
    if err.kind() != ErrorKind::Io || !conn.write_timed_out() {
        return err;
    }
    let message = format!(
        "{}: the server took no data for the write timeout",
        err.message()
    );
    let timed_out = Error::new(ErrorKind::WriteTimeout, message);
    if err.is_unanswered() {
        timed_out.unanswered()
    } else {
        timed_out
    }
}
