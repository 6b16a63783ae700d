//! httpring for Zig: an idiomatic layer over the C API in include/httpring.h.
//!
//! A `Client` owns a connection pool and a background runtime. Every request returns a
//! `Handle`; the handle owns its response, and every slice a `Response` hands out borrows
//! from it until `Handle.deinit` or `Client.deinit`, whichever comes first (freeing the
//! client frees every handle's memory). Nothing here allocates: strings cross as pointer+length or
//! through small stack buffers, so the request/response path is allocator-free.
//!
//! Completions can be collected per handle (`poll`, `wait`), over a set (`Client.waitAny`,
//! `Client.waitAll`), or from an event loop: watch `Client.fd()` for readability and call
//! `Client.drain()`.

const std = @import("std");
const assert = std.debug.assert;

/// The raw C declarations, translated from httpring.h by the build (`b.addTranslateC`).
pub const c = @import("httpring_c");

/// Every failure code of the C API, one error each. `Pending` appears only where a finished
/// request was required (`Handle.response` on a running request, for instance).
pub const Error = error{
    /// HTTPRING_PENDING where a completed request was required.
    Pending,
    InvalidArgument,
    /// The handle was freed, never issued, or is stale.
    InvalidHandle,
    /// The handle belongs to another client.
    ForeignHandle,
    InvalidUrl,
    UnsupportedScheme,
    InvalidHeader,
    InvalidMethod,
    /// The host name did not resolve.
    Dns,
    ConnectRefused,
    /// Another failure to connect (unreachable network, ...).
    Connect,
    ConnectTimeout,
    /// The whole request took longer than its total timeout.
    Timeout,
    /// The server sent nothing for longer than the read timeout.
    ReadTimeout,
    Cancelled,
    /// The server broke HTTP (malformed response, short body, ...).
    Protocol,
    /// The connection failed after it was established (HTTPRING_ERR_IO).
    Io,
    BodyTooLarge,
    ClientClosed,
    NotFound,
    /// A bug in httpring (a caught panic).
    Internal,
    /// The server's certificate was rejected (untrusted, expired, wrong host name); the
    /// message carries the verifier's reason.
    TlsCertificate,
    /// Another TLS failure: handshake, protocol version, a client certificate the server
    /// required or refused.
    Tls,
    /// The proxy failed or refused the tunnel.
    Proxy,
    /// Redirects followed past the limit.
    TooManyRedirects,
    /// A redirect from https to plain http was refused.
    InsecureRedirect,
    /// The response body could not be decoded (corrupt gzip, deflate, br or zstd).
    Decoding,
    /// The request waited for a connection (under the connection caps) past the pool timeout.
    PoolTimeout,
    /// Writing the request stayed blocked past the write timeout.
    WriteTimeout,
    /// The client's cap on requests in flight was reached; nothing was sent.
    TooManyInFlight,
    /// A streamed request body failed: its source (callback, reader, file) failed, or it
    /// gave fewer or more bytes than its declared length.
    BodySource,
    /// A code newer than this binding.
    Unknown,
};

/// What submitting a request can fail with (`Client.get`, `send`, `sendMany`, ...): invalid
/// input is refused before any handle exists. Network failures come later, from the handle.
pub const SubmitError = error{
    TooManyInFlight,
    InvalidArgument,
    InvalidUrl,
    UnsupportedScheme,
    InvalidHeader,
    InvalidMethod,
    ClientClosed,
    Internal,
    Unknown,
};

/// What an operation on a handle itself can fail with (`poll`, `wait`, `cancel`, ...): the
/// handle or its client is not usable. How the request ended is `Handle.result()`.
pub const HandleError = error{
    InvalidArgument,
    InvalidHandle,
    ForeignHandle,
    ClientClosed,
    Internal,
    Unknown,
};

/// What reading a streamed body can fail with (`Handle.read`, `readAvailable`, `waitBody`,
/// and `BodyReader.err` behind a reader's `error.ReadFailed`): how the body failed after
/// the bytes before the failure were read (`ReadTimeout`, `Io`, `Protocol`, `Decoding`,
/// `Cancelled`, ...), how the request failed before its head (any of its failures),
/// `InvalidArgument` for a request not sent with `Request.stream`, or a handle error. Every
/// `Error` but `Pending`, which these calls report as null or false.
pub const ReadError = error{
    InvalidArgument,
    InvalidHandle,
    ForeignHandle,
    InvalidUrl,
    UnsupportedScheme,
    InvalidHeader,
    InvalidMethod,
    Dns,
    ConnectRefused,
    Connect,
    ConnectTimeout,
    Timeout,
    ReadTimeout,
    Cancelled,
    Protocol,
    Io,
    BodyTooLarge,
    ClientClosed,
    NotFound,
    Internal,
    TlsCertificate,
    Tls,
    Proxy,
    TooManyRedirects,
    InsecureRedirect,
    Decoding,
    PoolTimeout,
    WriteTimeout,
    TooManyInFlight,
    BodySource,
    Unknown,
};

/// What writing a request body can fail with (`Handle.write`, `writeAvailable`,
/// `finishBody`, `resumeBody`, and `BodyWriter.err` behind a writer's `error.WriteFailed`):
/// `InvalidArgument` for a request without `.body_source = .{ .writer = ... }`, for a write
/// after `finishBody` or past the declared length; `BodySource` from `finishBody` short of
/// the declared length; the request's own failure once it has ended (`Cancelled`, `Io`,
/// `WriteTimeout`, ...); or a handle error. The same set as `ReadError`: every `Error` but
/// `Pending`, which these calls report as 0 or false.
pub const WriteError = ReadError;

/// What `Handle.info` reports: `raw` is the C struct (attempts, bytes_received,
/// content_length, the `*_us` phases that add up to `total_us`, tls_version, reused); the
/// methods give its text fields as slices.
pub const Info = struct {
    raw: c.httpring_info,

    fn text(buf: []const u8) []const u8 {
        return std.mem.sliceTo(buf, 0);
    }

    /// "ip:port" of the peer; empty before a response, or for Unix sockets.
    pub fn remoteAddr(self: *const Info) []const u8 {
        return text(&self.raw.remote_addr);
    }

    /// "h2", "http/1.1", or empty without ALPN.
    pub fn alpn(self: *const Info) []const u8 {
        return text(&self.raw.alpn);
    }

    /// The announced body length, if known.
    pub fn contentLength(self: *const Info) ?u64 {
        return if (self.raw.content_length < 0) null else @intCast(self.raw.content_length);
    }
};

/// Creating a client or its config can also run out of memory or descriptors.
pub const InitError = Error || error{SystemResources};

/// The C code for every `Error`, in one table so both directions agree.
const code_table = [_]struct { code: u32, err: Error }{
    .{ .code = c.HTTPRING_PENDING, .err = error.Pending },
    .{ .code = c.HTTPRING_ERR_INVALID_ARGUMENT, .err = error.InvalidArgument },
    .{ .code = c.HTTPRING_ERR_INVALID_HANDLE, .err = error.InvalidHandle },
    .{ .code = c.HTTPRING_ERR_FOREIGN_HANDLE, .err = error.ForeignHandle },
    .{ .code = c.HTTPRING_ERR_INVALID_URL, .err = error.InvalidUrl },
    .{ .code = c.HTTPRING_ERR_UNSUPPORTED_SCHEME, .err = error.UnsupportedScheme },
    .{ .code = c.HTTPRING_ERR_INVALID_HEADER, .err = error.InvalidHeader },
    .{ .code = c.HTTPRING_ERR_INVALID_METHOD, .err = error.InvalidMethod },
    .{ .code = c.HTTPRING_ERR_DNS, .err = error.Dns },
    .{ .code = c.HTTPRING_ERR_CONNECT_REFUSED, .err = error.ConnectRefused },
    .{ .code = c.HTTPRING_ERR_CONNECT, .err = error.Connect },
    .{ .code = c.HTTPRING_ERR_CONNECT_TIMEOUT, .err = error.ConnectTimeout },
    .{ .code = c.HTTPRING_ERR_TIMEOUT, .err = error.Timeout },
    .{ .code = c.HTTPRING_ERR_READ_TIMEOUT, .err = error.ReadTimeout },
    .{ .code = c.HTTPRING_ERR_CANCELLED, .err = error.Cancelled },
    .{ .code = c.HTTPRING_ERR_PROTOCOL, .err = error.Protocol },
    .{ .code = c.HTTPRING_ERR_IO, .err = error.Io },
    .{ .code = c.HTTPRING_ERR_BODY_TOO_LARGE, .err = error.BodyTooLarge },
    .{ .code = c.HTTPRING_ERR_CLIENT_CLOSED, .err = error.ClientClosed },
    .{ .code = c.HTTPRING_ERR_NOT_FOUND, .err = error.NotFound },
    .{ .code = c.HTTPRING_ERR_INTERNAL, .err = error.Internal },
    .{ .code = c.HTTPRING_ERR_TLS_CERTIFICATE, .err = error.TlsCertificate },
    .{ .code = c.HTTPRING_ERR_TLS, .err = error.Tls },
    .{ .code = c.HTTPRING_ERR_PROXY, .err = error.Proxy },
    .{ .code = c.HTTPRING_ERR_TOO_MANY_REDIRECTS, .err = error.TooManyRedirects },
    .{ .code = c.HTTPRING_ERR_INSECURE_REDIRECT, .err = error.InsecureRedirect },
    .{ .code = c.HTTPRING_ERR_DECODING, .err = error.Decoding },
    .{ .code = c.HTTPRING_ERR_POOL_TIMEOUT, .err = error.PoolTimeout },
    .{ .code = c.HTTPRING_ERR_WRITE_TIMEOUT, .err = error.WriteTimeout },
    .{ .code = c.HTTPRING_ERR_TOO_MANY_IN_FLIGHT, .err = error.TooManyInFlight },
    .{ .code = c.HTTPRING_ERR_BODY_SOURCE, .err = error.BodySource },
};

/// The error for a non-OK code; unknown codes give `error.Unknown`.
pub fn errorFromCode(code: u32) Error {
    inline for (code_table) |entry| {
        if (code == entry.code) return entry.err;
    }
    return error.Unknown;
}

/// The C code of an error (`HTTPRING_ERR_INTERNAL` for `error.Unknown`, which has none).
pub fn codeFromError(err: Error) u32 {
    inline for (code_table) |entry| {
        if (err == entry.err) return entry.code;
    }
    return c.HTTPRING_ERR_INTERNAL;
}

/// Turns a C result into an error union.
pub fn check(code: u32) Error!void {
    if (code != c.HTTPRING_OK) return errorFromCode(code);
}

/// Like `check`, for a call whose contract allows only the errors of `E` (a subset of
/// `Error` that includes `Unknown`): any other code becomes `error.Unknown`.
fn checkIn(comptime E: type, code: u32) E!void {
    if (code == c.HTTPRING_OK) return;
    return narrow(E, errorFromCode(code));
}

fn narrow(comptime E: type, err: Error) E {
    inline for (@typeInfo(E).error_set.error_names.?) |name| {
        const candidate = @field(E, name);
        if (err == candidate) return candidate;
    }
    return error.Unknown;
}

/// The library's name for a code, e.g. "HTTPRING_ERR_DNS" (static).
pub fn codeName(code: u32) [:0]const u8 {
    return std.mem.span(c.httpring_error_name(code));
}

/// Why the last failed call on this thread failed, in words (a submit refused with
/// `error.InvalidUrl`: which URL and why), copied into `buf` and cut to fit.
pub fn lastErrorMessage(buf: []u8) []const u8 {
    if (buf.len == 0) return buf;
    var len: usize = 0;
    check(c.httpring_last_error_message(buf.ptr, buf.len, &len)) catch return buf[0..0];
    return buf[0..@min(len, buf.len - 1)];
}

/// The library's name for an error, e.g. "HTTPRING_ERR_READ_TIMEOUT".
pub fn errorName(err: Error) [:0]const u8 {
    if (err == error.Unknown) return "HTTPRING_UNKNOWN";
    return codeName(codeFromError(err));
}

/// The version of the linked library, e.g. "0.1.0".
pub fn version() [:0]const u8 {
    return std.mem.span(c.httpring_version());
}

/// The version of the header this binding was compiled against, as
/// `(major << 16) | (minor << 8) | patch` (`HTTPRING_VERSION_NUM`).
pub const header_version_num: u32 = c.HTTPRING_VERSION_NUM;

/// The linked library's version in the same form (`httpring_version_num`): a library with
/// the same major version runs programs built against any older header.
pub fn versionNum() u32 {
    return c.httpring_version_num();
}

/// What this build of the library can do (`httpring_features`).
pub const Features = struct {
    tls: bool,
    http2: bool,
    proxy: bool,
    socks: bool,
    unix_sockets: bool,
    decompress: bool,
    /// `Request` specs carry flags (a streamed response in `sendMany`'s batch).
    spec_flags: bool,
};

pub fn features() Features {
    const f = c.httpring_features();
    return .{
        .tls = (f & c.HTTPRING_FEATURE_TLS) != 0,
        .http2 = (f & c.HTTPRING_FEATURE_HTTP2) != 0,
        .proxy = (f & c.HTTPRING_FEATURE_PROXY) != 0,
        .socks = (f & c.HTTPRING_FEATURE_SOCKS) != 0,
        .unix_sockets = (f & c.HTTPRING_FEATURE_UNIX_SOCKETS) != 0,
        .decompress = (f & c.HTTPRING_FEATURE_DECOMPRESS) != 0,
        .spec_flags = (f & c.HTTPRING_FEATURE_SPEC_FLAGS) != 0,
    };
}

/// Where a request stands.
pub const State = enum(u32) {
    pending = c.HTTPRING_STATE_PENDING,
    /// A response arrived (any HTTP status).
    done = c.HTTPRING_STATE_DONE,
    /// The request failed: `Handle.result()` says why.
    failed = c.HTTPRING_STATE_FAILED,
    _,
};

pub const HttpVersion = enum(u32) {
    unknown = c.HTTPRING_HTTP_UNKNOWN,
    http1_0 = c.HTTPRING_HTTP_1_0,
    http1_1 = c.HTTPRING_HTTP_1_1,
    http2 = c.HTTPRING_HTTP_2,
    http3 = c.HTTPRING_HTTP_3,
    _,
};

/// A header as bytes: used for request headers and response header iteration.
pub const Header = struct {
    name: []const u8,
    value: []const u8,
};

/// A header sent with every request of a client (the C config takes C strings).
pub const DefaultHeader = struct {
    name: [:0]const u8,
    value: [:0]const u8,
};

/// Where trusted roots come from (`httpring_config_set_root_store`).
pub const RootStore = enum(u32) {
    /// The operating system's trusted certificates (the library's default).
    system = c.HTTPRING_ROOTS_SYSTEM,
    /// Mozilla's roots built into the library.
    bundled = c.HTTPRING_ROOTS_BUNDLED,
    /// Only the CAs given in `Options.ca_pem` / `Options.ca_file`.
    none = c.HTTPRING_ROOTS_NONE,
};

/// Which HTTP versions a client speaks (`httpring_config_set_http_version`).
pub const HttpVersionPref = enum(u32) {
    /// HTTP/2 when TLS negotiates it by ALPN, else HTTP/1.1 (the library's default).
    negotiate = c.HTTPRING_HTTP_PREF_NEGOTIATE,
    http1_only = c.HTTPRING_HTTP_PREF_HTTP1_ONLY,
    /// ALPN offers only h2, and http:// URLs use h2c with prior knowledge.
    http2_only = c.HTTPRING_HTTP_PREF_HTTP2_ONLY,
};

/// The lowest TLS version accepted (`httpring_config_set_min_tls_version`).
pub const TlsVersion = enum(u32) {
    tls1_2 = 12,
    tls1_3 = 13,
};

/// A client certificate chain and its private key, as PEM text; `password` decrypts an
/// encrypted key (PKCS#8, `BEGIN ENCRYPTED PRIVATE KEY`).
pub const ClientCertPem = struct {
    cert: []const u8,
    key: []const u8,
    password: ?[:0]const u8 = null,
};

/// A client certificate chain and its private key, as PEM files (read by `Client.init`);
/// `password` as in `ClientCertPem`.
pub const ClientCertFile = struct {
    cert_path: [:0]const u8,
    key_path: [:0]const u8,
    password: ?[:0]const u8 = null,
};

/// An origin where a followed redirect chain stops (`httpring_config_add_redirect_stop`):
/// a pattern as httpx's `mounts=` keys (`all://`, `https://`, `all://example.com`,
/// `http://example.com:8080`, a host `*.domain` or `*domain`); the first matching entry
/// decides, `stop = false` follows (an exception before a broader entry).
pub const RedirectStop = struct {
    pattern: [:0]const u8,
    stop: bool = true,
};

/// Like curl's `--resolve host:port:addr`: connections to `host:port` go to `addr` (an IPv4
/// or IPv6 literal) without DNS. Port 0 matches any port.
pub const Resolve = struct {
    host: [:0]const u8,
    port: u16 = 0,
    addr: [:0]const u8,
};

/// TCP keepalive probes (`httpring_config_set_tcp_keepalive`): after `idle_ms` of silence,
/// then every `interval_ms`, `count` of them (0: the system's value).
pub const TcpKeepalive = struct {
    idle_ms: u64 = 0,
    interval_ms: u64 = 0,
    count: u32 = 0,
};

/// The low-speed limit (`httpring_config_set_low_speed`): a response body under
/// `bytes_per_sec` on average over `time_ms` of waiting for the server fails
/// (`error.ReadTimeout`), as does a server silent for `time_ms` while the response
/// head is awaited; a request body the server takes slower fails with
/// `error.WriteTimeout`.
pub const LowSpeed = struct {
    bytes_per_sec: u64,
    time_ms: u64,
};

/// HTTP/2 keep-alive (`httpring_config_set_http2_keepalive`): a PING every `interval_ms`,
/// the connection closed when one is not answered within `timeout_ms` (0: 20 s).
pub const Http2Keepalive = struct {
    interval_ms: u64,
    timeout_ms: u64 = 0,
    /// Also while the connection idles in the pool.
    while_idle: bool = false,
};

/// Client settings, each one `httpring_config_*` call; `null` (or an empty list) keeps the
/// library default (see httpring_config_new and docs/TRANSPORT.md).
pub const Options = struct {
    connect_timeout_ms: ?u64 = null,
    /// Submit to last byte; 0 means no limit (the default).
    timeout_ms: ?u64 = null,
    /// Longest silence from the server; 0 means no limit.
    read_timeout_ms: ?u64 = null,
    /// A response body arriving slower than this fails (curl's low-speed limit).
    low_speed: ?LowSpeed = null,
    /// Most bytes per second a response body is read at (curl's `--limit-rate`); the
    /// engine pauses reading past it. Null: no cap.
    max_recv_speed: ?u64 = null,
    /// Most bytes per second a request body is sent at (curl's `MAX_SEND_SPEED_LARGE`); the
    /// engine hands it to the socket in pieces as they are due. Null: no cap.
    max_send_speed: ?u64 = null,
    pool_idle_timeout_ms: ?u64 = null,
    /// 0 disables keep-alive reuse.
    pool_max_idle_per_host: ?usize = null,
    /// Most idle connections kept across origins; 0 means no cap beyond the per-host one.
    pool_max_idle: ?usize = null,
    /// Most connections open to one origin / in total (0: no cap); requests beyond wait in
    /// one queue in submit order.
    max_connections_per_host: ?usize = null,
    max_connections: ?usize = null,
    /// Longest wait in that queue (`error.PoolTimeout`); 0 means no limit.
    pool_timeout_ms: ?u64 = null,
    /// Longest a socket write may stay blocked (`error.WriteTimeout`); 0 means no limit.
    write_timeout_ms: ?u64 = null,
    /// Most requests submitted and not completed; a submit beyond fails with
    /// `error.TooManyInFlight`. 0 means no cap.
    max_in_flight: ?usize = null,
    /// Retries of failed attempts (0, the default: none): connect failures, for idempotent
    /// methods also failures before any response byte and `retry_statuses`.
    retries: ?u32 = null,
    /// The first backoff wait and its cap, in ms (defaults 100 and 10000).
    retry_backoff_ms: ?struct { first: u64, max: u64 } = null,
    /// Statuses retried (default 429, 502, 503, 504).
    retry_statuses: ?[]const u16 = null,
    /// Also retry non-idempotent methods (POST, PATCH) after failures that may have reached
    /// the server, and on retryable statuses.
    retry_non_idempotent: ?bool = null,
    /// Larger response bodies fail with `error.BodyTooLarge`; 0 is rejected. Streamed
    /// bodies (`Request.stream`) are not limited.
    max_body_size: ?u64 = null,
    /// Bytes of a streamed body (`Request.stream`) buffered unread before the library stops
    /// reading it and so holds the server back (default 262144, 256 KiB); 0 is rejected.
    /// Also the most bytes of a pushed request body (`BodySource.writer`) waiting unsent.
    stream_buffer: ?usize = null,
    /// Most header lines an HTTP/1.1 response may have (default 100; more fail the request
    /// with error.Protocol); raising it costs an allocation per response. 0 is rejected.
    max_response_headers: ?usize = null,
    /// Runtime threads, 1..=256 (default 1).
    worker_threads: ?u32 = null,
    /// Whether a thread blocked in a wait runs the client's I/O itself (default true).
    wait_drives_io: ?bool = null,
    user_agent: ?[:0]const u8 = null,
    default_headers: []const DefaultHeader = &.{},

    // Redirects (followed by the engine; off by default)
    /// Follow 301/302/303/307/308; credentials are not sent to another origin.
    follow_redirects: ?bool = null,
    /// The most redirects followed for one request (default 10).
    max_redirects: ?u32 = null,
    /// Allow a redirect from https to plain http (refused by default).
    redirect_allow_insecure: ?bool = null,
    /// Origins where a followed chain stops: the redirect into one is the result.
    redirect_stops: []const RedirectStop = &.{},
    /// Ask for and decode gzip, deflate, br and zstd responses (on by default).
    decompress: ?bool = null,
    /// Credentials for every request (a request's own win).
    auth: ?Auth = null,
    /// Basic credentials by host from a .netrc file (`httpring_config_set_netrc`): a path,
    /// or "" for `$NETRC` / `~/.netrc`. Used when a request has no other credentials.
    netrc: ?[:0]const u8 = null,
    /// Keep a cookie jar (RFC 6265; off by default).
    cookies: ?bool = null,

    // TLS
    root_store: ?RootStore = null,
    /// CA certificates (PEM text, each item one or more certificates) trusted besides the
    /// root store.
    ca_pem: []const []const u8 = &.{},
    /// A PEM file of CA certificates trusted besides the root store, read by `init`.
    ca_file: ?[:0]const u8 = null,
    client_cert_pem: ?ClientCertPem = null,
    /// The server's public key must be one of these (curl's `--pinnedpubkey`):
    /// "sha256//BASE64", several separated by ';'.
    pinned_public_key: ?[:0]const u8 = null,
    client_cert_file: ?ClientCertFile = null,
    min_tls_version: ?TlsVersion = null,
    /// DANGER: accept any server certificate. Only for throwaway test servers.
    danger_accept_invalid_certs: ?bool = null,
    /// Whether TLS secrets go to the file `SSLKEYLOGFILE` names, for Wireshark (default true).
    tls_key_log: ?bool = null,

    // HTTP versions
    http_version: ?HttpVersionPref = null,
    /// Speak HTTP/2 directly on http:// URLs (h2c with prior knowledge).
    h2c_prior_knowledge: ?bool = null,
    /// HTTP/2 PINGs that find a dead connection fast (off by default).
    http2_keepalive: ?Http2Keepalive = null,

    // DNS
    resolve: []const Resolve = &.{},
    /// How long resolved addresses are reused (default 60000; 0 disables the cache).
    dns_cache_ttl_ms: ?u64 = null,

    // Proxies and sockets
    /// `http://[user:pass@]host:port`, `socks5://` or `socks5h://`; overrides the environment.
    proxy: ?[:0]const u8 = null,
    /// Whether `http_proxy`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` apply when no proxy is
    /// set (default true; never for loopback).
    use_env_proxy: ?bool = null,
    /// Hosts (or `.suffix` domains, or `*`) never proxied.
    no_proxy: []const [:0]const u8 = &.{},
    /// Send every request over this Unix domain socket; URLs still give Host and path.
    unix_socket: ?[:0]const u8 = null,
    /// The source address of every TCP connection, an IPv4 or IPv6 literal (curl's
    /// `--interface ADDR`); only the server's addresses of its family are tried.
    local_address: ?[:0]const u8 = null,
    /// TCP keepalive on every TCP connection (off by default).
    tcp_keepalive: ?TcpKeepalive = null,
};

/// A client's counters (`httpring_client_stats`).
pub const Stats = struct {
    /// Handles not yet freed.
    live_handles: usize,
    /// Idle HTTP/1.1 connections plus shared HTTP/2 connections in the pool.
    pooled_connections: usize,
    /// Connections opened since the client was created.
    connections_opened: usize,
    /// Calls to the system resolver (DNS cache misses).
    dns_lookups: usize,

};

/// Credentials for a client's requests or one request. They go to the request's origin only.
pub const Auth = union(enum) {
    /// `Authorization: Basic` (RFC 7617); the user may not contain ':'.
    basic: UserPassword,
    /// `Authorization: Bearer TOKEN` (RFC 6750).
    bearer: [:0]const u8,
    /// Answer a 401 Digest challenge (RFC 7616: MD5, SHA-256, qop=auth) once.
    digest: UserPassword,

    pub const UserPassword = struct { user: [:0]const u8, password: [:0]const u8 = "" };
};

/// A multipart/form-data body: fields and files in the order added; set it on a request
/// with `Request.form` (encoded at send, so the form may be reused or freed afterwards).
pub const Form = struct {
    raw: *c.httpring_multipart,

    pub fn init() error{OutOfMemory}!Form {
        return .{ .raw = c.httpring_multipart_new() orelse return error.OutOfMemory };
    }

    pub fn deinit(self: *Form) void {
        c.httpring_multipart_free(self.raw);
        self.* = undefined;
    }

    /// A text field.
    pub fn addField(self: Form, name: [:0]const u8, value: []const u8) Error!void {
        try check(c.httpring_multipart_add_field(self.raw, name.ptr, value.ptr, value.len));
    }

    /// A file part from memory; null `filename` sends none, null `content_type` means
    /// application/octet-stream.
    pub fn addBytes(self: Form, name: [:0]const u8, data: []const u8, filename: ?[:0]const u8, content_type: ?[:0]const u8) Error!void {
        try check(c.httpring_multipart_add_bytes(self.raw, name.ptr, data.ptr, data.len, if (filename) |f| f.ptr else null, if (content_type) |t| t.ptr else null));
    }

    /// A file part read now from `path`; null `filename` sends the path's last component.
    pub fn addFile(self: Form, name: [:0]const u8, path: [:0]const u8, filename: ?[:0]const u8, content_type: ?[:0]const u8) Error!void {
        try check(c.httpring_multipart_add_file(self.raw, name.ptr, path.ptr, if (filename) |f| f.ptr else null, if (content_type) |t| t.ptr else null));
    }
};

/// Where a redirect leads (`redirectNext`).
pub const Redirect = struct {
    /// The next URL, with the `Location`'s fragment if it has one (else keep the current
    /// one). Allocated: free it with the allocator given to `redirectNext`.
    url: []u8,
    /// The method becomes GET: the body and its `Content-*` and `Transfer-Encoding` headers
    /// stay behind.
    to_get: bool,
    /// Another origin: `Authorization`, `Cookie`, `Proxy-Authorization` and the client's
    /// credentials stay behind.
    cross_origin: bool,
    /// Another host name: a `Host` header the caller set stays behind.
    other_host: bool,
};

/// The request a redirect leads to, by the rules the library follows redirects with, for a
/// caller that follows them itself (hop by hop, or around a transport of its own): a
/// `status` response with `location` to a `method` request for `url`. Null when it is no
/// redirect (not 301, 302, 303, 307 or 308, or no `Location`). https to http is
/// `error.InsecureRedirect` unless `allow_insecure`.
pub fn redirectNext(
    allocator: std.mem.Allocator,
    method: [:0]const u8,
    url: [:0]const u8,
    status: u16,
    location: ?[:0]const u8,
    allow_insecure: bool,
) (Error || error{OutOfMemory})!?Redirect {
    const loc: [*c]const u8 = if (location) |l| l.ptr else null;
    var len: usize = 0;
    var flags: u32 = 0;
    try check(c.httpring_redirect_next(method.ptr, url.ptr, status, loc, allow_insecure, null, 0, &len, &flags));
    if (len == 0) return null;
    const buf = try allocator.alloc(u8, len + 1);
    errdefer allocator.free(buf);
    try check(c.httpring_redirect_next(method.ptr, url.ptr, status, loc, allow_insecure, buf.ptr, buf.len, &len, &flags));
    return .{
        .url = try shrink(allocator, buf, @min(len, buf.len - 1)),
        .to_get = flags & c.HTTPRING_REDIRECT_TO_GET != 0,
        .cross_origin = flags & c.HTTPRING_REDIRECT_CROSS_ORIGIN != 0,
        .other_host = flags & c.HTTPRING_REDIRECT_OTHER_HOST != 0,
    };
}

/// The `Authorization` value HTTP Basic sends with `user` and `password`, as the library
/// sends it, for a caller that sends requests itself. Allocated with `allocator`. A user
/// name with `:` is `error.InvalidArgument`.
pub fn basicAuthValue(allocator: std.mem.Allocator, user: [:0]const u8, password: [:0]const u8) (Error || error{OutOfMemory})![]u8 {
    const Call = struct {
        user: [:0]const u8,
        password: [:0]const u8,
        fn run(call: @This(), buf: [*c]u8, cap: usize, len: *usize) u32 {
            return c.httpring_auth_basic_value(call.user.ptr, call.password.ptr, buf, cap, len);
        }
    };
    return (try copyOut(allocator, Call{ .user = user, .password = password })) orelse error.Unknown;
}

/// The `Authorization` value answering `challenge` (one `WWW-Authenticate` value of a
/// `401`) for a `method` request to `url` with `body`, as the library answers a Digest
/// challenge; null when it is no Digest challenge these credentials can answer, or, with
/// `stale_only`, one that does not call the last nonce stale (answer a second `401` only
/// then). Allocated with `allocator`.
pub fn digestAnswer(
    allocator: std.mem.Allocator,
    user: [:0]const u8,
    password: [:0]const u8,
    method: [:0]const u8,
    url: [:0]const u8,
    body: []const u8,
    challenge: [:0]const u8,
    stale_only: bool,
) (Error || error{OutOfMemory})!?[]u8 {
    const Call = struct {
        args: [5][:0]const u8,
        body: []const u8,
        stale_only: bool,
        fn run(call: @This(), buf: [*c]u8, cap: usize, len: *usize) u32 {
            const a = call.args;
            return c.httpring_auth_digest_answer(a[0].ptr, a[1].ptr, a[2].ptr, a[3].ptr, call.body.ptr, call.body.len, a[4].ptr, call.stale_only, buf, cap, len);
        }
    };
    return copyOut(allocator, Call{ .args = .{ user, password, method, url, challenge }, .body = body, .stale_only = stale_only });
}

/// The string a library call copies out (`buf, cap, &len`: `call.run`), allocated with
/// `allocator`; null when it gives none (`len` 0).
fn copyOut(allocator: std.mem.Allocator, call: anytype) (Error || error{OutOfMemory})!?[]u8 {
    var len: usize = 0;
    try check(call.run(null, 0, &len));
    if (len == 0) return null;
    const buf = try allocator.alloc(u8, len + 1);
    errdefer allocator.free(buf);
    var len2: usize = 0;
    try check(call.run(buf.ptr, buf.len, &len2));
    return try shrink(allocator, buf, @min(len2, len));
}

/// The library's decoder for a body in a content coding that did not come through a request
/// (a cached body, a test's response): the decoders and rules responses get. Write the coded
/// bytes in any pieces, `end` after the last, and read the decoded bytes as they come.
pub const Decoder = struct {
    raw: *c.httpring_decoder,

    /// A decoder for a `Content-Encoding` value (`"gzip"`, `"gzip, zstd"`), or null when there
    /// is nothing to decode (`identity`, or a coding the library does not know: the body is
    /// used as it is). More than three codings is `error.Decoding`.
    pub fn init(content_encoding: [:0]const u8) Error!?Decoder {
        var raw: ?*c.httpring_decoder = null;
        try check(c.httpring_decoder_new(content_encoding.ptr, &raw));
        return if (raw) |r| .{ .raw = r } else null;
    }

    pub fn deinit(self: *Decoder) void {
        c.httpring_decoder_free(self.raw);
        self.* = undefined;
    }

    /// The next coded bytes (copied).
    pub fn write(self: Decoder, data: []const u8) Error!void {
        try check(c.httpring_decoder_write(self.raw, data.ptr, data.len));
    }

    /// No more input: a body cut short, or with bytes after its end, then fails `read`.
    pub fn end(self: Decoder) Error!void {
        try check(c.httpring_decoder_end(self.raw));
    }

    /// Decoded bytes into `buf` (not empty): the count, 0 once the ended body is read, or
    /// null when the input so far yields no more. Corrupt data is `error.Decoding`.
    pub fn read(self: Decoder, buf: []u8) Error!?usize {
        var n: usize = 0;
        const code = c.httpring_decoder_read(self.raw, buf.ptr, buf.len, &n);
        if (code == c.HTTPRING_PENDING) return null;
        try check(code);
        return n;
    }
};

/// A request body streamed instead of `Request.body` (`Request.body_source`): sent as it
/// comes, so memory stays flat whatever its size. A `length` of null sends it chunked
/// (HTTP/1.1) or as DATA frames until it ends (HTTP/2); a number sends that
/// `Content-Length`, and the body must be exactly that long, else the request fails with
/// `error.BodySource`.
///
/// Such a body can be sent only once: the request is not retried, a Digest challenge is not
/// answered, and a 307 or 308 redirect is not followed (its response is the answer); 301,
/// 302 and 303 redirects that turn the request into a GET are followed.
pub const BodySource = union(enum) {
    /// Pushed after submit through the handle: `Handle.bodyWriter` (a `std.Io.Writer`),
    /// or `Handle.write` / `writeAvailable`, then `Handle.finishBody`. The value is the
    /// length (null: unknown). At most `Options.stream_buffer` bytes wait unsent; a writer
    /// that gets ahead of the connection blocks, or is told to wait for a `.writable`
    /// completion.
    writer: ?u64,
    /// Read by the library from an open descriptor, from its current offset to its end (or
    /// `length` bytes). Meant for regular files: the reads run on the client's I/O thread.
    /// The descriptor is not closed; keep it open until the request completes.
    file: File,
    /// Read from a `std.Io.Reader` on the client's I/O thread, whenever the connection can
    /// take more (see `fromReader`).
    reader: Reader,
    /// A pull callback (see `fromCallback`).
    callback: Callback,

    pub const File = struct { fd: std.posix.fd_t, length: ?u64 = null };
    pub const Reader = struct { reader: *std.Io.Reader, length: ?u64 = null };
    /// The raw C form: `func(context, buf, cap, &written)` as `httpring_body_cb` documents.
    pub const Callback = struct { func: c.httpring_body_cb, context: ?*anyopaque, length: ?u64 = null };

    /// What a pull function (`fromCallback`) returns instead of a count: `Pending` when it
    /// has nothing yet (then call `Handle.resumeBody` once it has), `Failed` to fail the
    /// request with `error.BodySource`.
    pub const PullError = error{ Pending, Failed };

    /// The body is the rest of `file` (from its current offset), or its next `length` bytes.
    pub fn fromFile(file: std.Io.File, length: ?u64) BodySource {
        return .{ .file = .{ .fd = file.handle, .length = length } };
    }

    /// The body is what `reader` gives until its end (or exactly `length` bytes; a reader
    /// that ends sooner or gives more fails the request with `error.BodySource`, as does a
    /// reader's `error.ReadFailed`). The reader is used from the client's I/O thread, which
    /// also runs every other request of the client: it must not block for long (a reader
    /// over a regular file, or over memory, is fine; one over a socket or a pipe is not:
    /// push such data with `.writer` instead). It must stay valid, and not be used by
    /// anyone else, until the request completes or `Handle.cancel` / `deinit` returned.
    pub fn fromReader(reader: *std.Io.Reader, length: ?u64) BodySource {
        return .{ .reader = .{ .reader = reader, .length = length } };
    }

    /// The body comes from `pull(context, buf)`, called on the client's I/O thread whenever
    /// the connection can take more (`buf` holds at most 64 KiB): it returns how many bytes
    /// it put into `buf`, 0 at the end, `error.Pending` when it has nothing yet (and calls
    /// `Handle.resumeBody` once it has, from any thread), or `error.Failed`. It must not
    /// block, and `context` (a pointer) must be usable from that thread and stay valid
    /// until the request completes or `Handle.cancel` / `deinit` returned.
    pub fn fromCallback(
        context: anytype,
        comptime pull: fn (@TypeOf(context), []u8) PullError!usize,
        length: ?u64,
    ) BodySource {
        const Context = @TypeOf(context);
        comptime assert(@typeInfo(Context) == .pointer);
        const Trampoline = struct {
            fn call(ctx: ?*anyopaque, buf: [*c]u8, cap: usize, written: [*c]usize) callconv(.c) c.httpring_code {
                const typed: Context = @ptrCast(@alignCast(ctx));
                const n = pull(typed, buf[0..cap]) catch |err| return switch (err) {
                    error.Pending => c.HTTPRING_PENDING,
                    error.Failed => c.HTTPRING_ERR_BODY_SOURCE,
                };
                written.* = n;
                return c.HTTPRING_OK;
            }
        };
        return .{ .callback = .{ .func = Trampoline.call, .context = @ptrCast(@constCast(context)), .length = length } };
    }

    /// The `httpring_body_cb` behind `fromReader`.
    fn pullReader(ctx: ?*anyopaque, buf: [*c]u8, cap: usize, written: [*c]usize) callconv(.c) c.httpring_code {
        const r: *std.Io.Reader = @ptrCast(@alignCast(ctx));
        var vec = [1][]u8{buf[0..cap]};
        while (true) {
            // 0 is not the end: the reader only refilled its own buffer.
            const n = r.readVec(&vec) catch |err| switch (err) {
                error.EndOfStream => {
                    written.* = 0;
                    return c.HTTPRING_OK;
                },
                error.ReadFailed => return c.HTTPRING_ERR_IO,
            };
            if (n > 0) {
                written.* = n;
                return c.HTTPRING_OK;
            }
        }
    }

    /// The C length argument: -1 for unknown.
    fn lengthArg(length: ?u64) error{InvalidArgument}!i64 {
        const n = length orelse return -1;
        return std.math.cast(i64, n) orelse error.InvalidArgument;
    }

    fn apply(self: BodySource, built: *c.httpring_request) SubmitError!void {
        try checkIn(SubmitError, switch (self) {
            .writer => |length| c.httpring_request_set_body_writer(built, try lengthArg(length)),
            .file => |f| c.httpring_request_set_body_fd(built, f.fd, try lengthArg(f.length)),
            .reader => |r| c.httpring_request_set_body_callback(built, pullReader, r.reader, try lengthArg(r.length)),
            .callback => |cb| c.httpring_request_set_body_callback(built, cb.func, cb.context, try lengthArg(cb.length)),
        });
    }
};

/// One request for `Client.send`. Everything is copied before `send` returns.
pub const Request = struct {
    method: [:0]const u8 = "GET",
    url: [:0]const u8,
    headers: []const Header = &.{},
    body: []const u8 = "",
    /// A token reported back in the completion (`Completion.user_data`).
    user_data: u64 = 0,
    /// Per-request overrides of the client's timeouts, in ms; 0 disables one.
    timeout_ms: ?u64 = null,
    connect_timeout_ms: ?u64 = null,
    read_timeout_ms: ?u64 = null,
    /// Longest wait for a connection under the client's connection caps.
    pool_timeout_ms: ?u64 = null,
    /// Longest a write may stay blocked (`error.WriteTimeout`): the socket's writes while
    /// this request has an HTTP/1.1 connection; over HTTP/2, its body's wait for window.
    write_timeout_ms: ?u64 = null,
    /// Retries for this request, over the client's count.
    retries: ?u32 = null,
    /// Per-request overrides of the client's speed limits, as curl sets them per transfer:
    /// the receive- and send-rate caps in bytes per second (0 lifts the client's cap) and
    /// the low-speed limit (zero fields turn it off for this request).
    max_recv_speed: ?u64 = null,
    max_send_speed: ?u64 = null,
    low_speed: ?LowSpeed = null,
    /// Override of the client's `decompress`.
    decompress: ?bool = null,
    /// Credentials for this request, over the client's.
    auth: ?Auth = null,
    /// A multipart/form-data body (instead of `body`, which must then be empty), with its
    /// Content-Type.
    form: ?*const Form = null,
    /// Stream the response body: the request completes (`Completion.event()` `.head`) as
    /// soon as the response head arrives, with an empty `Response.body`, and the body is
    /// read as it arrives with `Handle.read`, `readAvailable` or `Handle.reader`. The total
    /// timeout covers the request up to its head; the read timeout applies between pieces
    /// of the body.
    stream: bool = false,
    /// A streamed request body instead of `body` (which must then be empty): pushed after
    /// submit (`.{ .writer = length }`, then `Handle.bodyWriter`), read from a file
    /// (`.fromFile(file, length)`), a `std.Io.Reader` (`.fromReader`) or a pull function
    /// (`.fromCallback`). See `BodySource`.
    body_source: ?BodySource = null,
};

/// Headers up to this count go through the one-call C fast path from a stack array.
const max_stack_headers = 64;
/// `waitAny`/`waitAll` copy handle ids to the stack: at most this many per call.
pub const max_wait_handles = 512;

/// Converts an optional timeout in ms (null: forever) to the C convention (negative: forever).
fn timeoutArg(timeout_ms: ?u64) i64 {
    const ms = timeout_ms orelse return -1;
    return std.math.cast(i64, ms) orelse std.math.maxInt(i64);
}

pub const Client = struct {
    raw: *c.httpring_client,

    pub fn init(options: Options) InitError!Client {
        const cfg = c.httpring_config_new() orelse return error.SystemResources;
        defer c.httpring_config_free(cfg);
        try configure(cfg, options);
        const raw = c.httpring_client_new(cfg) orelse return error.SystemResources;
        return .{ .raw = raw };
    }

    /// One `httpring_config_*` call per option given.
    fn configure(cfg: *c.httpring_config, o: Options) Error!void {
        if (o.connect_timeout_ms) |v| try check(c.httpring_config_set_connect_timeout_ms(cfg, v));
        if (o.timeout_ms) |v| try check(c.httpring_config_set_timeout_ms(cfg, v));
        if (o.read_timeout_ms) |v| try check(c.httpring_config_set_read_timeout_ms(cfg, v));
        if (o.pool_idle_timeout_ms) |v| try check(c.httpring_config_set_pool_idle_timeout_ms(cfg, v));
        if (o.pool_max_idle_per_host) |v| try check(c.httpring_config_set_pool_max_idle_per_host(cfg, v));
        if (o.pool_max_idle) |v| try check(c.httpring_config_set_pool_max_idle(cfg, v));
        if (o.max_connections_per_host) |v| try check(c.httpring_config_set_max_connections_per_host(cfg, v));
        if (o.max_connections) |v| try check(c.httpring_config_set_max_connections(cfg, v));
        if (o.pool_timeout_ms) |v| try check(c.httpring_config_set_pool_timeout_ms(cfg, v));
        if (o.write_timeout_ms) |v| try check(c.httpring_config_set_write_timeout_ms(cfg, v));
        if (o.max_in_flight) |v| try check(c.httpring_config_set_max_in_flight(cfg, v));
        if (o.retries) |v| try check(c.httpring_config_set_retries(cfg, v));
        if (o.retry_backoff_ms) |v| try check(c.httpring_config_set_retry_backoff_ms(cfg, v.first, v.max));
        if (o.retry_statuses) |v| try check(c.httpring_config_set_retry_statuses(cfg, v.ptr, v.len));
        if (o.retry_non_idempotent) |v| try check(c.httpring_config_set_retry_non_idempotent(cfg, v));
        if (o.max_body_size) |v| try check(c.httpring_config_set_max_body_size(cfg, v));
        if (o.stream_buffer) |v| try check(c.httpring_config_set_stream_buffer(cfg, v));
        if (o.max_response_headers) |v| try check(c.httpring_config_set_max_response_headers(cfg, v));
        if (o.worker_threads) |v| try check(c.httpring_config_set_worker_threads(cfg, v));
        if (o.wait_drives_io) |v| try check(c.httpring_config_set_wait_drives_io(cfg, v));
        if (o.follow_redirects) |v| try check(c.httpring_config_set_follow_redirects(cfg, v));
        if (o.max_redirects) |v| try check(c.httpring_config_set_max_redirects(cfg, v));
        if (o.redirect_allow_insecure) |v| try check(c.httpring_config_set_redirect_allow_insecure(cfg, v));
        for (o.redirect_stops) |r| try check(c.httpring_config_add_redirect_stop(cfg, r.pattern.ptr, r.stop));
        if (o.decompress) |v| try check(c.httpring_config_set_decompress(cfg, v));
        if (o.cookies) |v| try check(c.httpring_config_set_cookie_jar(cfg, v));
        if (o.auth) |a| try check(switch (a) {
            .basic => |b| c.httpring_config_set_basic_auth(cfg, b.user.ptr, b.password.ptr),
            .bearer => |t| c.httpring_config_set_bearer_auth(cfg, t.ptr),
            .digest => |d| c.httpring_config_set_digest_auth(cfg, d.user.ptr, d.password.ptr),
        });
        if (o.netrc) |v| try check(c.httpring_config_set_netrc(cfg, if (v.len == 0) null else v.ptr));
        if (o.user_agent) |v| try check(c.httpring_config_set_user_agent(cfg, v.ptr));
        for (o.default_headers) |h| try check(c.httpring_config_add_default_header(cfg, h.name.ptr, h.value.ptr));

        if (o.root_store) |v| try check(c.httpring_config_set_root_store(cfg, @intFromEnum(v)));
        for (o.ca_pem) |pem| try check(c.httpring_config_add_ca_pem(cfg, pem.ptr, pem.len));
        if (o.ca_file) |v| try check(c.httpring_config_set_ca_file(cfg, v.ptr));
        if (o.client_cert_pem) |v| try check(if (v.password) |p|
            c.httpring_config_set_client_cert_pem_password(cfg, v.cert.ptr, v.cert.len, v.key.ptr, v.key.len, p.ptr)
        else
            c.httpring_config_set_client_cert_pem(cfg, v.cert.ptr, v.cert.len, v.key.ptr, v.key.len));
        if (o.pinned_public_key) |p| try check(c.httpring_config_set_pinned_public_key(cfg, p.ptr));
        if (o.client_cert_file) |v| try check(if (v.password) |p|
            c.httpring_config_set_client_cert_file_password(cfg, v.cert_path.ptr, v.key_path.ptr, p.ptr)
        else
            c.httpring_config_set_client_cert_file(cfg, v.cert_path.ptr, v.key_path.ptr));
        if (o.min_tls_version) |v| try check(c.httpring_config_set_min_tls_version(cfg, @intFromEnum(v)));
        if (o.danger_accept_invalid_certs) |v| try check(c.httpring_config_set_danger_accept_invalid_certs(cfg, v));
        if (o.tls_key_log) |v| try check(c.httpring_config_set_tls_key_log(cfg, v));

        if (o.http_version) |v| try check(c.httpring_config_set_http_version(cfg, @intFromEnum(v)));
        if (o.h2c_prior_knowledge) |v| try check(c.httpring_config_set_h2c_prior_knowledge(cfg, v));
        if (o.low_speed) |l| try check(c.httpring_config_set_low_speed(cfg, l.bytes_per_sec, l.time_ms));
        if (o.max_recv_speed) |r| try check(c.httpring_config_set_max_recv_speed(cfg, r));
        if (o.max_send_speed) |r| try check(c.httpring_config_set_max_send_speed(cfg, r));
        if (o.http2_keepalive) |k| try check(c.httpring_config_set_http2_keepalive(cfg, k.interval_ms, k.timeout_ms, k.while_idle));

        for (o.resolve) |r| try check(c.httpring_config_add_resolve(cfg, r.host.ptr, r.port, r.addr.ptr));
        if (o.dns_cache_ttl_ms) |v| try check(c.httpring_config_set_dns_cache_ttl_ms(cfg, v));

        if (o.proxy) |v| try check(c.httpring_config_set_proxy(cfg, v.ptr));
        if (o.use_env_proxy) |v| try check(c.httpring_config_set_use_env_proxy(cfg, v));
        for (o.no_proxy) |host| try check(c.httpring_config_add_no_proxy(cfg, host.ptr));
        if (o.unix_socket) |v| try check(c.httpring_config_set_unix_socket(cfg, v.ptr));
        if (o.local_address) |v| try check(c.httpring_config_set_local_address(cfg, v.ptr));
        if (o.tcp_keepalive) |k| try check(c.httpring_config_set_tcp_keepalive(cfg, true, k.idle_ms, k.interval_ms, k.count));
    }

    /// Cancels every pending request, stops the runtime and frees every handle's memory.
    /// Handles of this client report `error.ClientClosed` afterwards.
    pub fn deinit(self: *Client) void {
        _ = c.httpring_client_free(self.raw);
        self.* = undefined;
    }

    /// Submits any request. Without per-request overrides and with at most 64 headers this
    /// is one C call (`httpring_client_send`); otherwise the request is built step by step.
    pub fn send(self: Client, req: Request) SubmitError!Handle {
        var id: c.httpring_handle = 0;
        if (!hasSettings(req) and !needsBuilder(req) and req.headers.len <= max_stack_headers)
        {
            var headers: [max_stack_headers]c.httpring_header = undefined;
            for (req.headers, headers[0..req.headers.len]) |h, *out| out.* = .{
                .name = h.name.ptr,
                .name_len = h.name.len,
                .value = h.value.ptr,
                .value_len = h.value.len,
            };
            try checkIn(SubmitError, c.httpring_client_send(self.raw, req.method.ptr, req.url.ptr, &headers, req.headers.len, req.body.ptr, req.body.len, req.user_data, &id));
            return .{ .client = self.raw, .id = id };
        }
        const built = c.httpring_request_new(req.method.ptr, req.url.ptr) orelse return error.InvalidArgument;
        buildRequest(built, req) catch |err| {
            c.httpring_request_free(built);
            return err;
        };
        try checkIn(SubmitError, c.httpring_client_submit(self.raw, built, &id));
        return .{ .client = self.raw, .id = id };
    }

    /// Whether a request has settings only the request builder carries (not the one-call
    /// paths' arguments or `httpring_request_spec`).
    fn needsBuilder(req: Request) bool {
        return req.decompress != null or req.auth != null or req.form != null or req.stream or
            req.body_source != null;
    }

    /// Whether a request has settings of its own that `httpring_request_spec` carries (the
    /// one-call path, `httpring_client_send`, carries none).
    fn hasSettings(req: Request) bool {
        return req.timeout_ms != null or req.connect_timeout_ms != null or req.read_timeout_ms != null or
            req.pool_timeout_ms != null or req.write_timeout_ms != null or req.retries != null or
            req.max_recv_speed != null or req.max_send_speed != null or req.low_speed != null;
    }

    fn buildRequest(built: *c.httpring_request, req: Request) SubmitError!void {
        for (req.headers) |h| try checkIn(SubmitError, c.httpring_request_add_header_bytes(built, h.name.ptr, h.name.len, h.value.ptr, h.value.len));
        if (req.body.len > 0) try checkIn(SubmitError, c.httpring_request_set_body(built, req.body.ptr, req.body.len));
        try checkIn(SubmitError, c.httpring_request_set_user_data(built, req.user_data));
        if (req.timeout_ms) |v| try checkIn(SubmitError, c.httpring_request_set_timeout_ms(built, v));
        if (req.connect_timeout_ms) |v| try checkIn(SubmitError, c.httpring_request_set_connect_timeout_ms(built, v));
        if (req.read_timeout_ms) |v| try checkIn(SubmitError, c.httpring_request_set_read_timeout_ms(built, v));
        if (req.pool_timeout_ms) |v| try checkIn(SubmitError, c.httpring_request_set_pool_timeout_ms(built, v));
        if (req.write_timeout_ms) |v| try checkIn(SubmitError, c.httpring_request_set_write_timeout_ms(built, v));
        if (req.retries) |v| try checkIn(SubmitError, c.httpring_request_set_retries(built, v));
        if (req.max_recv_speed) |v| try checkIn(SubmitError, c.httpring_request_set_max_recv_speed(built, v));
        if (req.max_send_speed) |v| try checkIn(SubmitError, c.httpring_request_set_max_send_speed(built, v));
        if (req.low_speed) |l| try checkIn(SubmitError, c.httpring_request_set_low_speed(built, l.bytes_per_sec, l.time_ms));
        if (req.decompress) |v| try checkIn(SubmitError, c.httpring_request_set_decompress(built, v));
        if (req.form) |f| {
            if (req.body.len > 0) return error.InvalidArgument; // two bodies
            try checkIn(SubmitError, c.httpring_request_set_multipart(built, f.raw));
        }
        if (req.stream) try checkIn(SubmitError, c.httpring_request_set_stream(built, true));
        if (req.body_source) |source| {
            if (req.body.len > 0 or req.form != null) return error.InvalidArgument; // two bodies
            try source.apply(built);
        }
        if (req.auth) |a| try checkIn(SubmitError, switch (a) {
            .basic => |b| c.httpring_request_set_basic_auth(built, b.user.ptr, b.password.ptr),
            .bearer => |t| c.httpring_request_set_bearer_auth(built, t.ptr),
            .digest => |d| c.httpring_request_set_digest_auth(built, d.user.ptr, d.password.ptr),
        });
    }

    /// `GET url`.
    pub fn get(self: Client, url: [:0]const u8) SubmitError!Handle {
        var id: c.httpring_handle = 0;
        try checkIn(SubmitError, c.httpring_client_get(self.raw, url.ptr, 0, &id));
        return .{ .client = self.raw, .id = id };
    }

    /// `POST url` with a body; `content_type` null sends none.
    pub fn post(self: Client, url: [:0]const u8, content_type: ?[:0]const u8, body: []const u8) SubmitError!Handle {
        var id: c.httpring_handle = 0;
        const ctype: [*c]const u8 = if (content_type) |ct| ct.ptr else null;
        try checkIn(SubmitError, c.httpring_client_post(self.raw, url.ptr, ctype, body.ptr, body.len, 0, &id));
        return .{ .client = self.raw, .id = id };
    }

    /// `POST url` with `Content-Type: application/json`.
    pub fn postJson(self: Client, url: [:0]const u8, json: []const u8) SubmitError!Handle {
        var id: c.httpring_handle = 0;
        try checkIn(SubmitError, c.httpring_client_post_json(self.raw, url.ptr, json.ptr, json.len, 0, &id));
        return .{ .client = self.raw, .id = id };
    }

    /// Submits every request of `requests` with one wake-up of the I/O thread per chunk of
    /// `max_batch` (`httpring_client_send_many`), and stores in `out[i]` request i's handle
    /// or why it was refused at submit. Returns how many were accepted; accepted requests run
    /// whatever happened to the others. `out.len` must be at least `requests.len`. A request
    /// with more than `max_batch_headers` headers, or with settings a batch entry cannot carry
    /// (auth, form, decompress, stream, body_source), is sent on its own
    /// with `send`.
    pub fn sendMany(self: Client, requests: []const Request, out: []SubmitError!Handle) error{InvalidArgument}!usize {
        if (out.len < requests.len) return error.InvalidArgument;
        var specs: [max_batch]c.httpring_request_spec = undefined;
        var headers: [max_batch_headers]c.httpring_header = undefined;
        var ids: [max_batch]c.httpring_handle = undefined;
        var codes: [max_batch]c.httpring_code = undefined;
        var accepted: usize = 0;
        var next: usize = 0;
        while (next < requests.len) {
            if (requests[next].headers.len > max_batch_headers or needsBuilder(requests[next])) {
                out[next] = self.send(requests[next]);
                if (out[next]) |_| accepted += 1 else |_| {}
                next += 1;
                continue;
            }
            // Fill one chunk: as many specs as fit, with their headers side by side.
            const first = next;
            var nheaders: usize = 0;
            while (next < requests.len and next - first < max_batch) : (next += 1) {
                const req = requests[next];
                if (req.headers.len > max_batch_headers - nheaders or needsBuilder(req)) break;
                const hs = headers[nheaders..][0..req.headers.len];
                for (req.headers, hs) |h, *o| o.* = .{ .name = h.name.ptr, .name_len = h.name.len, .value = h.value.ptr, .value_len = h.value.len };
                nheaders += hs.len;
                specs[next - first] = .{
                    .struct_size = @sizeOf(c.httpring_request_spec),
                    .method = req.method.ptr,
                    .url = req.url.ptr,
                    .headers = hs.ptr,
                    .nheaders = hs.len,
                    .body = req.body.ptr,
                    .body_len = req.body.len,
                    .user_data = req.user_data,
                    .timeout_ms = specSetting(req.timeout_ms),
                    .connect_timeout_ms = specSetting(req.connect_timeout_ms),
                    .read_timeout_ms = specSetting(req.read_timeout_ms),
                    .pool_timeout_ms = specSetting(req.pool_timeout_ms),
                    .write_timeout_ms = specSetting(req.write_timeout_ms),
                    .retries = if (req.retries) |n| @as(i64, n) else -1,
                    .max_recv_speed = specSetting(req.max_recv_speed),
                    .max_send_speed = specSetting(req.max_send_speed),
                    .low_speed_bytes_per_sec = if (req.low_speed) |l| specSetting(l.bytes_per_sec) else -1,
                    .low_speed_time_ms = if (req.low_speed) |l| specSetting(l.time_ms) else -1,
                    .flags = 0,
                };
            }
            const n = next - first;
            // A code the call did not write (the whole call failed) stays at `unset`.
            const unset = std.math.maxInt(c.httpring_code);
            @memset(codes[0..n], unset);
            @memset(ids[0..n], 0);
            const rc = c.httpring_client_send_many(self.raw, &specs, n, &ids, &codes);
            for (out[first..next], ids[0..n], codes[0..n]) |*o, id, code| {
                if (id != 0) {
                    o.* = .{ .client = self.raw, .id = id };
                    accepted += 1;
                } else {
                    o.* = narrow(SubmitError, errorFromCode(if (code == unset or code == c.HTTPRING_OK) rc else code));
                }
            }
        }
        return accepted;
    }

    /// Requests per `httpring_client_send_many` call in `sendMany` (specs on the stack).
    pub const max_batch = 64;
    /// Headers per `sendMany` chunk, all requests of the chunk together.
    pub const max_batch_headers = 256;

    /// A request's own setting for its spec: -1 (null) keeps the client's.
    fn specSetting(value: ?u64) i64 {
        const v = value orelse return -1; // the client's setting
        return std.math.cast(i64, v) orelse std.math.maxInt(i64);
    }

    /// The client's counters: live handles, pooled and opened connections, DNS lookups.
    pub fn stats(self: Client) error{ ClientClosed, Internal, Unknown }!Stats {
        var out: c.httpring_stats = .{ .struct_size = @sizeOf(c.httpring_stats) };
        try checkIn(error{ ClientClosed, Internal, Unknown }, c.httpring_client_stats(self.raw, &out));
        return .{
            .live_handles = out.live_handles,
            .pooled_connections = out.pooled_connections,
            .connections_opened = out.connections_opened,
            .dns_lookups = out.dns_lookups,
        };
    }

    /// The handle a completion refers to (the same one `send` returned).
    pub fn handle(self: Client, id: u64) Handle {
        return .{ .client = self.raw, .id = id };
    }

    /// Readable while completions wait in the queue (level-triggered). Watch it with
    /// poll/epoll, then call `drain`. Never read or close it.
    pub fn fd(self: Client) std.posix.fd_t {
        return c.httpring_client_fd(self.raw);
    }

    /// Moves up to `buf.len` completions into `buf` and returns the filled part. Each
    /// completed request appears once. Call again while it returns a full buffer.
    pub fn drain(self: Client, buf: []Completion) Error![]Completion {
        var n: usize = 0;
        if (buf.len > 0) buf[0].struct_size = @sizeOf(Completion); // the stride
        try check(c.httpring_client_drain(self.raw, @ptrCast(buf.ptr), buf.len, &n));
        return buf[0..n];
    }

    /// Blocks up to `timeout_ms` (null: forever) until at least `min` completions
    /// (1..=`buf.len`) are in `buf`, then returns the filled part (shorter only on timeout).
    /// While it waits, this thread runs the client's I/O itself: a loop of `waitDrain` and
    /// resubmit needs no event loop and no second thread.
    pub fn waitDrain(self: Client, buf: []Completion, min: usize, timeout_ms: ?u64) Error![]Completion {
        var n: usize = 0;
        if (buf.len > 0) buf[0].struct_size = @sizeOf(Completion); // the stride
        try check(c.httpring_client_wait_drain(self.raw, @ptrCast(buf.ptr), buf.len, min, timeoutArg(timeout_ms), &n));
        return buf[0..n];
    }

    /// Blocks up to `timeout_ms` (null: forever) until the completion fd is readable.
    /// For programs without an event loop of their own; returns false on timeout, and
    /// `error.ClientClosed` for a client already freed (it has no fd to wait on).
    pub fn waitReadable(self: Client, timeout_ms: ?u31) (std.posix.PollError || error{ClientClosed})!bool {
        const client_fd = self.fd();
        if (client_fd < 0) return error.ClientClosed;
        var fds = [_]std.posix.pollfd{.{ .fd = client_fd, .events = std.posix.POLL.IN, .revents = 0 }};
        const timeout: i32 = if (timeout_ms) |ms| ms else -1;
        return try std.posix.poll(&fds, timeout) > 0;
    }

    /// Blocks until one of `handles` completes; returns its index (the lowest if several),
    /// or null if `timeout_ms` passed first (null waits forever).
    pub fn waitAny(self: Client, handles: []const Handle, timeout_ms: ?u64) Error!?usize {
        var ids: [max_wait_handles]c.httpring_handle = undefined;
        const n = try self.collectIds(handles, &ids);
        return self.waitAnyIds(ids[0..n], timeout_ms);
    }

    /// `waitAny` over raw ids (`Handle.id`), for sets larger than `max_wait_handles`.
    pub fn waitAnyIds(self: Client, ids: []const u64, timeout_ms: ?u64) Error!?usize {
        var index: usize = 0;
        const code = c.httpring_handle_wait_any(self.raw, ids.ptr, ids.len, timeoutArg(timeout_ms), &index);
        if (code == c.HTTPRING_PENDING) return null;
        try check(code);
        return index;
    }

    /// Blocks until all `handles` complete; false if `timeout_ms` passed first.
    pub fn waitAll(self: Client, handles: []const Handle, timeout_ms: ?u64) Error!bool {
        var ids: [max_wait_handles]c.httpring_handle = undefined;
        const n = try self.collectIds(handles, &ids);
        return self.waitAllIds(ids[0..n], timeout_ms);
    }

    /// `waitAll` over raw ids.
    pub fn waitAllIds(self: Client, ids: []const u64, timeout_ms: ?u64) Error!bool {
        const code = c.httpring_handle_wait_all(self.raw, ids.ptr, ids.len, timeoutArg(timeout_ms));
        if (code == c.HTTPRING_PENDING) return false;
        try check(code);
        return true;
    }

    fn collectIds(self: Client, handles: []const Handle, ids: *[max_wait_handles]c.httpring_handle) Error!usize {
        if (handles.len > max_wait_handles) return error.InvalidArgument;
        for (handles, ids[0..handles.len]) |h, *id| {
            if (h.client != self.raw) return error.ForeignHandle;
            id.* = h.id;
        }
        return handles.len;
    }

    /// Adds a cookie to the jar as if `url` had sent `Set-Cookie: set_cookie`.
    pub fn cookieAdd(self: Client, url: [:0]const u8, set_cookie: [:0]const u8) Error!void {
        try check(c.httpring_client_cookie_add(self.raw, url.ptr, set_cookie.ptr));
    }

    /// Empties the jar.
    pub fn cookiesClear(self: Client) Error!void {
        try check(c.httpring_client_cookies_clear(self.raw));
    }

    /// The `Authorization` value the client's `.netrc` (`Options.netrc`) gives a request to
    /// `url` (its host's entry, else the file's `default`), for a caller that sends a request
    /// itself; null without one. Allocated with `allocator`.
    pub fn netrcValue(self: Client, allocator: std.mem.Allocator, url: [:0]const u8) (Error || error{OutOfMemory})!?[]u8 {
        const Call = struct {
            client: *const c.httpring_client,
            url: [:0]const u8,
            fn run(call: @This(), buf: [*c]u8, cap: usize, len: *usize) u32 {
                return c.httpring_client_netrc_value(call.client, call.url.ptr, buf, cap, len);
            }
        };
        return copyOut(allocator, Call{ .client = self.raw, .url = url });
    }

    /// What the client sends with every request (its default headers, User-Agent and,
    /// with decompression on, Accept-Encoding) as `name: value\r\n` lines in the order
    /// sent, allocated with `allocator`.
    pub fn defaultHeaders(self: Client, allocator: std.mem.Allocator) (Error || error{OutOfMemory})![]u8 {
        var len: usize = 0;
        try check(c.httpring_client_default_headers(self.raw, null, 0, &len));
        const buf = try allocator.alloc(u8, len + 1);
        errdefer allocator.free(buf);
        try check(c.httpring_client_default_headers(self.raw, buf.ptr, buf.len, &len));
        return shrink(allocator, buf, @min(len, buf.len - 1));
    }

    /// The jar as Netscape cookie-file text (curl's format), allocated with `allocator`.
    pub fn cookiesExport(self: Client, allocator: std.mem.Allocator) (Error || error{OutOfMemory})![]u8 {
        var len: usize = 0;
        try check(c.httpring_client_cookies_export(self.raw, null, 0, &len));
        const buf = try allocator.alloc(u8, len + 1);
        errdefer allocator.free(buf);
        var len2: usize = 0;
        try check(c.httpring_client_cookies_export(self.raw, buf.ptr, buf.len, &len2));
        // The jar may have changed between the calls: keep what fitted.
        return shrink(allocator, buf, @min(len2, len));
    }

    /// Adds the cookies of Netscape cookie-file text; returns how many.
    pub fn cookiesImport(self: Client, text: [:0]const u8) Error!usize {
        var n: usize = 0;
        try check(c.httpring_client_cookies_import(self.raw, text.ptr, &n));
        return n;
    }

    /// Writes the jar to a Netscape cookie file (curl's `--cookie-jar`).
    pub fn cookiesSave(self: Client, path: [:0]const u8) Error!void {
        try check(c.httpring_client_cookies_save(self.raw, path.ptr));
    }

    /// Adds the cookies of a Netscape cookie file (curl's `--cookie`); returns how many.
    pub fn cookiesLoad(self: Client, path: [:0]const u8) Error!usize {
        var n: usize = 0;
        try check(c.httpring_client_cookies_load(self.raw, path.ptr, &n));
        return n;
    }

    /// Handles not yet freed.
    pub fn liveHandles(self: Client) Error!usize {
        var n: usize = 0;
        try check(c.httpring_client_live_handles(self.raw, &n));
        return n;
    }

    /// Calls `callback(context, completion)` for every completion, on a runtime thread,
    /// besides queueing it for `drain`. Keep it short; `context` must be usable from that
    /// thread and outlive the client (or a later `clearCallback`).
    pub fn setCallback(
        self: Client,
        context: anytype,
        comptime callback: fn (@TypeOf(context), Completion) void,
    ) Error!void {
        const Context = @TypeOf(context);
        comptime assert(@typeInfo(Context) == .pointer);
        const Trampoline = struct {
            fn call(ctx: ?*anyopaque, completion: [*c]const c.httpring_completion) callconv(.c) void {
                const typed: Context = @ptrCast(@alignCast(ctx));
                const done: *const Completion = @ptrCast(completion);
                callback(typed, done.*);
            }
        };
        try check(c.httpring_client_set_callback(self.raw, Trampoline.call, @ptrCast(@constCast(context))));
    }

    pub fn clearCallback(self: Client) Error!void {
        try check(c.httpring_client_set_callback(self.raw, null, null));
    }
};

/// One finished request, as `Client.drain` and callbacks report it. Same layout as
/// `httpring_completion`, so `drain` fills a Zig slice directly.
pub const Completion = extern struct {
    /// `sizeof(httpring_completion)`: `drain` and `waitDrain` set it (docs/ABI.md).
    struct_size: u32,
    /// The handle id (`Client.handle(id)` gives the Handle).
    id: u64,
    user_data: u64,
    /// HTTPRING_OK for a response (any status), else why the request failed.
    code: u32,
    /// The HTTP status, 0 when the request failed.
    status: u16,
    /// What this announces: `HTTPRING_EVENT_DONE` (0) for requests that are not streamed;
    /// `_HEAD` (1) and `_BODY` (2) for streamed ones; `_WRITABLE` (3) for a pushed request
    /// body (see `event()`).
    event_raw: u32 = 0,

    pub const Event = enum(u32) {
        done = c.HTTPRING_EVENT_DONE,
        head = c.HTTPRING_EVENT_HEAD,
        body = c.HTTPRING_EVENT_BODY,
        writable = c.HTTPRING_EVENT_WRITABLE,
        _,
    };

    /// Completed (done), a streamed request's head arrived (head), its body has something
    /// for a reader that found it empty (body), or its pushed request body
    /// (`.body_source = .{ .writer = ... }`) has room again after a write that found none
    /// (writable; the request has not completed).
    pub fn event(self: Completion) Event {
        return @enumFromInt(self.event_raw);
    }

    /// `{}` when a response arrived, else the failure.
    pub fn result(self: Completion) Error!void {
        return check(self.code);
    }

    comptime {
        assert(@sizeOf(Completion) == @sizeOf(c.httpring_completion));
        assert(@offsetOf(Completion, "struct_size") == @offsetOf(c.httpring_completion, "struct_size"));
        assert(@offsetOf(Completion, "id") == @offsetOf(c.httpring_completion, "handle"));
        assert(@offsetOf(Completion, "user_data") == @offsetOf(c.httpring_completion, "user_data"));
        assert(@offsetOf(Completion, "code") == @offsetOf(c.httpring_completion, "code"));
        assert(@offsetOf(Completion, "status") == @offsetOf(c.httpring_completion, "status"));
        assert(@offsetOf(Completion, "event_raw") == @offsetOf(c.httpring_completion, "event"));
    }
};

/// A submitted request. Owns the response: free it with `deinit` (which also cancels a
/// pending request). Copies refer to the same request; deinit exactly one of them.
pub const Handle = struct {
    client: *c.httpring_client,
    id: u64,

    /// Attempts, progress and (once the response was read) where the time went; any time,
    /// from any thread.
    pub fn info(self: Handle) HandleError!Info {
        var out: c.httpring_info = .{ .struct_size = @sizeOf(c.httpring_info) };
        try checkIn(HandleError, c.httpring_handle_info(self.client, self.id, &out));
        return .{ .raw = out };
    }

    /// Non-blocking state check.
    pub fn poll(self: Handle) HandleError!State {
        var state: c.httpring_state = c.HTTPRING_STATE_PENDING;
        try checkIn(HandleError, c.httpring_handle_poll(self.client, self.id, &state));
        return @enumFromInt(state);
    }

    /// Blocks up to `timeout_ms` (null: forever; 0: just check) for the request to finish.
    /// Returns `.done` or `.failed`, or `.pending` if the time ran out first.
    pub fn wait(self: Handle, timeout_ms: ?u64) HandleError!State {
        var state: c.httpring_state = c.HTTPRING_STATE_PENDING;
        const code = c.httpring_handle_wait(self.client, self.id, timeoutArg(timeout_ms), &state);
        if (code == c.HTTPRING_PENDING) return .pending;
        try checkIn(HandleError, code);
        return @enumFromInt(state);
    }

    /// Aborts a pending request (it fails with `error.Cancelled`); a finished one is kept.
    pub fn cancel(self: Handle) HandleError!void {
        try checkIn(HandleError, c.httpring_handle_cancel(self.client, self.id));
    }

    /// Frees the request and its response: slices from `response()` become invalid.
    pub fn deinit(self: *Handle) void {
        _ = c.httpring_handle_free(self.client, self.id);
        self.* = undefined;
    }

    /// How the request ended: `{}` for a response, `error.Pending` while it runs, else why it
    /// failed (also `InvalidHandle` and the like for a bad handle).
    pub fn result(self: Handle) Error!void {
        return check(c.httpring_handle_error(self.client, self.id));
    }

    /// The failure's message copied into `buf` (truncated to fit); empty for a success.
    pub fn errorMessage(self: Handle, buf: []u8) HandleError![]const u8 {
        var len: usize = 0;
        if (buf.len == 0) return buf[0..0];
        try checkIn(HandleError, c.httpring_handle_error_message(self.client, self.id, buf.ptr, buf.len, &len));
        return buf[0..@min(len, buf.len - 1)];
    }

    /// The whole failure message in memory from `gpa` (caller frees).
    pub fn errorMessageAlloc(self: Handle, gpa: std.mem.Allocator) (HandleError || std.mem.Allocator.Error)![]u8 {
        var len: usize = 0;
        try checkIn(HandleError, c.httpring_handle_error_message(self.client, self.id, null, 0, &len));
        const buf = try gpa.alloc(u8, len + 1);
        errdefer gpa.free(buf);
        try checkIn(HandleError, c.httpring_handle_error_message(self.client, self.id, buf.ptr, buf.len, &len));
        return gpa.realloc(buf, @min(len, buf.len - 1));
    }

    /// The `user_data` given at submit.
    pub fn userData(self: Handle) HandleError!u64 {
        var out: u64 = 0;
        try checkIn(HandleError, c.httpring_handle_user_data(self.client, self.id, &out));
        return out;
    }

    /// The response of a finished request: `error.Pending` while it runs, the failure if it
    /// failed. Its slices borrow from the handle until `deinit`.
    pub fn response(self: Handle) Error!Response {
        var r: c.httpring_response = .{ .struct_size = @sizeOf(c.httpring_response) };
        try check(c.httpring_handle_response(self.client, self.id, &r));
        return .{
            .handle = self,
            .status = r.status,
            .version = @enumFromInt(r.version),
            .body = bytes(r.body, r.body_len),
            .url = bytes(r.url, r.url_len),
            .header_count = r.header_count,
            .elapsed_us = r.elapsed_us,
        };
    }

    /// Waits (null: forever) and returns the response, or the failure. For a streamed
    /// request (`Request.stream`) this is its head: status, version and headers, and an
    /// empty body.
    pub fn waitResponse(self: Handle, timeout_ms: ?u64) Error!Response {
        if (try self.wait(timeout_ms) == .pending) return error.Pending;
        return self.response();
    }

    // Streamed bodies (`Request.stream`)

    /// Copies what has arrived of a streamed body into `buf` (not empty) without blocking:
    /// the count (> 0), 0 once the body ended and every byte was read, or null when there is
    /// nothing yet (the next piece, or the head itself, has not arrived). Readiness is
    /// edge-triggered: after the head (`Completion.event()` `.head`) and after each `.body`
    /// completion, read until null; the next data, the end or a failure is then announced by
    /// one `.body` completion (through `Client.drain`, the wait calls and the callback), or
    /// wait for it with `waitBody`. A failure comes after the bytes before it were read.
    /// May be called from any thread, one reader per handle at a time.
    pub fn readAvailable(self: Handle, buf: []u8) ReadError!?usize {
        var n: usize = 0;
        const code = c.httpring_handle_read(self.client, self.id, buf.ptr, buf.len, &n);
        if (code == c.HTTPRING_PENDING) return null;
        try checkIn(ReadError, code);
        return n;
    }

    /// What `readChunk` lent.
    pub const Chunk = struct {
        /// The next bytes of the body (empty once it had ended), borrowed from the handle
        /// until its next read (`readChunk`, `readAvailable`, `read`) or `deinit`.
        bytes: []const u8,
        /// The body ended with these bytes: nothing is left to read.
        last: bool,
        /// The body's bytes received so far, as the server sent them (before content
        /// decoding).
        received: u64,
    };

    /// Takes what has arrived of a streamed body without copying it and without blocking:
    /// up to 256 KiB, lent until the next read of this handle or its `deinit` (a cancel
    /// does not take them back). Null when there is nothing yet, announced as for
    /// `readAvailable`; `last` tells of the end with the last bytes, so no further read is
    /// needed for it. A failure comes after the bytes before it were read.
    pub fn readChunk(self: Handle) ReadError!?Chunk {
        var out: c.httpring_chunk = .{ .struct_size = @sizeOf(c.httpring_chunk) };
        const code = c.httpring_handle_read_chunk(self.client, self.id, &out);
        if (code == c.HTTPRING_PENDING) return null;
        try checkIn(ReadError, code);
        return .{
            .bytes = bytes(out.data, out.len),
            .last = (out.flags & c.HTTPRING_CHUNK_LAST) != 0,
            .received = out.received,
        };
    }

    /// Blocks until some of a streamed body is there (waiting for the head first), then
    /// copies it into `buf` (not empty): the count, or 0 once the body ended. It waits as
    /// long as the server is silent: the read timeout (`Options.read_timeout_ms`,
    /// `Request.read_timeout_ms`) is what ends a silence with `error.ReadTimeout`.
    pub fn read(self: Handle, buf: []u8) ReadError!usize {
        while (true) {
            if (try self.readAvailable(buf)) |n| return n;
            _ = try self.waitBody(null);
        }
    }

    /// Blocks up to `timeout_ms` (null: forever; 0: just check) until `readAvailable` would
    /// not return null: data, the end or a failure is there. Waits for the head first when
    /// it has not arrived (the one timeout covers both). Returns false if the time ran out;
    /// a request that failed before its head returns its failure. For a thread that follows
    /// one stream; an event loop drains `.body` completions instead.
    pub fn waitBody(self: Handle, timeout_ms: ?u64) ReadError!bool {
        // The library waits for the head first, and reports a failure from before it.
        const code = c.httpring_handle_wait_body(self.client, self.id, timeoutArg(timeout_ms));
        if (code == c.HTTPRING_PENDING) return false;
        try checkIn(ReadError, code);
        return true;
    }

    /// The `nth` (0-based) value of trailer field `name` (any case) of a streamed body that
    /// ended with trailers, or null (no such field, no trailers, the body has not ended yet,
    /// or a bad handle). HTTP/1.1 servers send trailers only to requests with `TE: trailers`.
    /// The slice borrows from the handle until `deinit`. Names up to 8 KiB.
    pub fn trailer(self: Handle, name: []const u8, nth: usize) ?[]const u8 {
        var name_z: [8192]u8 = undefined;
        if (name.len >= name_z.len or std.mem.indexOfScalar(u8, name, 0) != null) return null;
        @memcpy(name_z[0..name.len], name);
        name_z[name.len] = 0;
        var value: [*c]const u8 = null;
        var value_len: usize = 0;
        const code = c.httpring_handle_trailer(self.client, self.id, &name_z, nth, &value, &value_len);
        return if (code == c.HTTPRING_OK) bytes(value, value_len) else null;
    }

    /// The streamed body as a `std.Io.Reader` that buffers in `buffer` (whose size bounds
    /// what `peek` and `takeDelimiter` can hold). See `BodyReader`.
    pub fn reader(self: Handle, buffer: []u8) BodyReader {
        return .init(self, buffer);
    }

    // Pushed request bodies (`Request.body_source = .{ .writer = length }`)

    /// Hands up to `data.len` bytes of the request body to the library without blocking and
    /// returns how many it took: maybe fewer than given, and 0 when its buffer
    /// (`Options.stream_buffer`) is full. Room is then announced by one `.writable`
    /// completion (through `Client.drain`, the wait calls and the callback), or wait for it
    /// with `waitWritable`. Fails with `error.InvalidArgument` for a request without a body
    /// writer, after `finishBody`, and for a write that would pass the declared length
    /// (nothing of it is taken); with the request's failure once it has ended.
    pub fn writeAvailable(self: Handle, data: []const u8) WriteError!usize {
        var n: usize = 0;
        const code = c.httpring_handle_write(self.client, self.id, data.ptr, data.len, &n);
        if (code == c.HTTPRING_PENDING) return 0;
        try checkIn(WriteError, code);
        return n;
    }

    /// Blocks until the library takes some of `data` (not empty), then returns how many.
    /// Waits as long as the server does not read: the write timeout
    /// (`Options.write_timeout_ms`) is what ends that wait with `error.WriteTimeout`.
    pub fn write(self: Handle, data: []const u8) WriteError!usize {
        while (true) {
            const n = try self.writeAvailable(data);
            if (n > 0 or data.len == 0) return n;
            _ = try self.waitWritable(null);
        }
    }

    /// `write` until all of `data` is taken.
    pub fn writeAll(self: Handle, data: []const u8) WriteError!void {
        var done: usize = 0;
        while (done < data.len) done += try self.write(data[done..]);
    }

    /// Blocks up to `timeout_ms` (null: forever; 0: just check) until `writeAvailable` would
    /// take at least one byte, or the request has ended (the next write says how). Returns
    /// false if the time ran out. For a thread that writes one body; an event loop waits for
    /// `.writable` completions instead. Once a writer has blocked here, room is no longer
    /// announced with completions.
    pub fn waitWritable(self: Handle, timeout_ms: ?u64) HandleError!bool {
        const code = c.httpring_handle_wait_writable(self.client, self.id, timeoutArg(timeout_ms));
        if (code == c.HTTPRING_PENDING) return false;
        try checkIn(HandleError, code);
        return true;
    }

    /// Ends a pushed request body (the request then completes as usual). With a declared
    /// length, finishing short of it fails the request and returns `error.BodySource`.
    pub fn finishBody(self: Handle) WriteError!void {
        try checkIn(WriteError, c.httpring_handle_finish_body(self.client, self.id));
    }

    /// Tells the library that a pull source (`BodySource.fromCallback`) which returned
    /// `error.Pending` has more, or its end: it is called again soon. From any thread, also
    /// from the pull function itself; extra calls do no harm. Fails with the request's end
    /// once it has ended.
    pub fn resumeBody(self: Handle) WriteError!void {
        try checkIn(WriteError, c.httpring_handle_resume_body(self.client, self.id));
    }

    /// The pushed request body as a `std.Io.Writer` that buffers in `buffer`. See
    /// `BodyWriter`.
    pub fn bodyWriter(self: Handle, buffer: []u8) BodyWriter {
        return .init(self, buffer);
    }
};

/// A pushed request body (`Request.body_source = .{ .writer = length }`) as a
/// `std.Io.Writer`: `interface` works with the std writer API (`writeAll`, `print`,
/// `sendFileAll`, a reader's `streamRemaining`, ...), collects small writes in the buffer
/// and hands them to the library with `Handle.write`, blocking while the library's buffer
/// (`Options.stream_buffer`) is full, that is while the connection does not take more. End
/// the body with `finish` (which flushes). A failure is `error.WriteFailed`, and `err` holds
/// its cause (`error.InvalidArgument` for a write past the declared length,
/// `error.Cancelled`, `error.Io`, ...). Use it in place: `interface` finds its BodyWriter by
/// address, so take `&writer.interface` and do not copy the BodyWriter after that.
///
///     var h = try client.send(.{ .method = "PUT", .url = url, .body_source = .{ .writer = null } });
///     defer h.deinit();
///     var buf: [64 * 1024]u8 = undefined;
///     var body = h.bodyWriter(&buf);
///     body.interface.print("{d} rows\n", .{rows.len}) catch return body.err.?;
///     for (rows) |row| body.interface.writeAll(row) catch return body.err.?;
///     try body.finish();
///     const r = try h.waitResponse(null);
pub const BodyWriter = struct {
    handle: Handle,
    /// Why the writer failed: set whenever `interface` returns `error.WriteFailed`.
    err: ?WriteError = null,
    interface: std.Io.Writer,

    pub fn init(handle: Handle, buffer: []u8) BodyWriter {
        return .{
            .handle = handle,
            .interface = .{ .vtable = &.{ .drain = drain }, .buffer = buffer, .end = 0 },
        };
    }

    /// Flushes what is buffered and ends the body (`Handle.finishBody`): with a declared
    /// length, short of it fails the request with `error.BodySource`.
    pub fn finish(w: *BodyWriter) WriteError!void {
        w.interface.flush() catch return w.err.?;
        try w.handle.finishBody();
    }

    /// Blocks until the library takes some of `data` (not empty).
    fn writeSome(w: *BodyWriter, data: []const u8) std.Io.Writer.Error!usize {
        return w.handle.write(data) catch |err| {
            w.err = err;
            return error.WriteFailed;
        };
    }

    fn drain(io_w: *std.Io.Writer, data: []const []const u8, splat: usize) std.Io.Writer.Error!usize {
        const w: *BodyWriter = @alignCast(@fieldParentPtr("interface", io_w));
        // What is buffered goes first, all of it.
        const buffered = io_w.buffered();
        var done: usize = 0;
        while (done < buffered.len) done += w.writeSome(buffered[done..]) catch |err| {
            _ = io_w.consume(done);
            return err;
        };
        io_w.end = 0;
        // Then the first bytes of `data`; the caller comes back for the rest.
        for (data[0 .. data.len - 1]) |slice| {
            if (slice.len > 0) return w.writeSome(slice);
        }
        const pattern = data[data.len - 1];
        if (pattern.len == 0 or splat == 0) return 0;
        // A repeated pattern: as many copies as the (now empty) buffer holds, else one.
        const copies = @min(splat, io_w.buffer.len / pattern.len);
        if (copies == 0) return w.writeSome(pattern);
        for (0..copies) |i| @memcpy(io_w.buffer[i * pattern.len ..][0..pattern.len], pattern);
        io_w.end = copies * pattern.len;
        return io_w.end;
    }
};

/// A streamed body (`Request.stream`) as a `std.Io.Reader`: `interface` works with the std
/// reader API (`takeDelimiter`, `peekGreedy`, `streamRemaining`, `allocRemaining`, ...) and
/// blocks like `Handle.read` until data, the end or a failure arrives. The end is
/// `error.EndOfStream` (or null, or the end of what `*Remaining` returns); a failure is
/// `error.ReadFailed`, and `err` holds its cause (`error.ReadTimeout`, ...). Use it in
/// place: `interface` finds its BodyReader by address, so take `&reader.interface` and do
/// not copy the BodyReader after that.
///
///     var buf: [4096]u8 = undefined;
///     var body = handle.reader(&buf);
///     while (body.interface.takeDelimiter('\n') catch |err| switch (err) {
///         error.ReadFailed => return body.err.?, // why: error.ReadTimeout, ...
///         error.StreamTooLong => return error.LineTooLong, // a line longer than buf
///     }) |line| {
///         // one line, without its '\n'
///     }
pub const BodyReader = struct {
    handle: Handle,
    /// Why the reader failed: set whenever `interface` returns `error.ReadFailed`.
    err: ?ReadError = null,
    interface: std.Io.Reader,

    /// Scratch for `discard` when the interface's buffer is smaller.
    const discard_scratch = 4096;

    pub fn init(handle: Handle, buffer: []u8) BodyReader {
        return .{
            .handle = handle,
            .interface = .{
                .vtable = &.{ .stream = stream, .discard = discard },
                .buffer = buffer,
                .seek = 0,
                .end = 0,
            },
        };
    }

    /// Blocks for the next bytes into `dest` (empty: returns 0 at once).
    fn readSome(r: *BodyReader, dest: []u8) std.Io.Reader.Error!usize {
        if (dest.len == 0) return 0;
        const n = r.handle.read(dest) catch |err| {
            r.err = err;
            return error.ReadFailed;
        };
        if (n == 0) return error.EndOfStream;
        return n;
    }

    fn stream(io_r: *std.Io.Reader, w: *std.Io.Writer, limit: std.Io.Limit) std.Io.Reader.StreamError!usize {
        const r: *BodyReader = @alignCast(@fieldParentPtr("interface", io_r));
        const dest = limit.slice(try w.writableSliceGreedy(1));
        const n = try r.readSome(dest);
        w.advance(n);
        return n;
    }

    fn discard(io_r: *std.Io.Reader, limit: std.Io.Limit) std.Io.Reader.Error!usize {
        const r: *BodyReader = @alignCast(@fieldParentPtr("interface", io_r));
        // Called with the buffer empty: its bytes are free to overwrite.
        var scratch: [discard_scratch]u8 = undefined;
        const into: []u8 = if (io_r.buffer.len > scratch.len) io_r.buffer else &scratch;
        return r.readSome(limit.slice(into));
    }
};

/// `buf` cut to its first `n` bytes as an allocation of exactly `n` (what the caller frees):
/// in place when the allocator can, else copied. On failure the caller still owns `buf`.
fn shrink(allocator: std.mem.Allocator, buf: []u8, n: usize) error{OutOfMemory}![]u8 {
    if (allocator.resize(buf, n)) return buf[0..n];
    const out = try allocator.alloc(u8, n);
    @memcpy(out, buf[0..n]);
    allocator.free(buf);
    return out;
}

fn bytes(ptr: [*c]const u8, len: usize) []const u8 {
    if (len == 0) return "";
    return ptr[0..len];
}

/// A finished request's response. Every slice is valid until its handle's `deinit`.
pub const Response = struct {
    handle: Handle,
    status: u16,
    version: HttpVersion,
    body: []const u8,
    /// The URL that produced the response.
    url: []const u8,
    /// Header lines (a name with two values counts twice).
    header_count: usize,
    /// Submit to last body byte.
    elapsed_us: u64,

    /// The first value of header `name` (any case), or null.
    pub fn header(self: Response, name: []const u8) ?[]const u8 {
        return self.headerNth(name, 0);
    }

    /// The `nth` value (0-based) of header `name` (any case), or null.
    pub fn headerNth(self: Response, name: []const u8, nth: usize) ?[]const u8 {
        var name_z: [256]u8 = undefined;
        if (name.len < name_z.len and std.mem.indexOfScalar(u8, name, 0) == null) {
            @memcpy(name_z[0..name.len], name);
            name_z[name.len] = 0;
            var value: [*c]const u8 = null;
            var value_len: usize = 0;
            const code = c.httpring_response_header(self.handle.client, self.handle.id, &name_z, nth, &value, &value_len);
            return if (code == c.HTTPRING_OK) bytes(value, value_len) else null;
        }
        // A name too long for the stack buffer: scan the lines instead.
        var seen: usize = 0;
        var it = self.headerIterator();
        while (it.next()) |h| {
            if (!std.ascii.eqlIgnoreCase(h.name, name)) continue;
            if (seen == nth) return h.value;
            seen += 1;
        }
        return null;
    }

    /// Every header line in order received; names are lower-case, values of a repeated
    /// name adjacent.
    pub fn headerIterator(self: Response) HeaderIterator {
        return .{ .handle = self.handle, .count = self.header_count };
    }

    /// The reason phrase: the server's own (HTTP/1.x) when it sent another than the
    /// standard one for the status, else the standard one ("" for a code with none).
    pub fn reason(self: Response) []const u8 {
        var data: [*c]const u8 = null;
        var len: usize = 0;
        if (c.httpring_response_reason(self.handle.client, self.handle.id, &data, &len) != c.HTTPRING_OK) return "";
        return bytes(data, len);
    }

    /// All headers as "name: value\r\n" lines.
    pub fn rawHeaders(self: Response) []const u8 {
        var data: [*c]const u8 = null;
        var len: usize = 0;
        if (c.httpring_response_headers_raw(self.handle.client, self.handle.id, &data, &len) != c.HTTPRING_OK) return "";
        return bytes(data, len);
    }
};

pub const HeaderIterator = struct {
    handle: Handle,
    count: usize,
    index: usize = 0,

    pub fn next(self: *HeaderIterator) ?Header {
        if (self.index >= self.count) return null;
        var name: [*c]const u8 = null;
        var name_len: usize = 0;
        var value: [*c]const u8 = null;
        var value_len: usize = 0;
        const code = c.httpring_response_header_at(self.handle.client, self.handle.id, self.index, &name, &name_len, &value, &value_len);
        if (code != c.HTTPRING_OK) return null;
        self.index += 1;
        return .{ .name = bytes(name, name_len), .value = bytes(value, value_len) };
    }
};

test "every code the library names maps to its own error and back" {
    // Asks the linked library, not this file: a code added to the library and not to
    // `code_table` arrives here as error.Unknown and fails the test.
    try check(c.HTTPRING_OK);
    try std.testing.expectEqualStrings("HTTPRING_OK", codeName(c.HTTPRING_OK));
    var code: u32 = c.HTTPRING_OK + 1;
    while (!std.mem.eql(u8, codeName(code), "HTTPRING_UNKNOWN")) : (code += 1) {
        if (code > 10_000) return error.TestUnexpectedResult; // no end of names
        const err = errorFromCode(code);
        errdefer std.debug.print("code {d} ({s}) -> {s}\n", .{ code, codeName(code), @errorName(err) });
        try std.testing.expect(err != error.Unknown);
        try std.testing.expectEqual(code, codeFromError(err));
        try std.testing.expectEqualStrings(codeName(code), errorName(err));
        try std.testing.expectError(err, check(code));
    }
    // The library names at least every code of the header this binding was built with,
    // and the table has no entry the library does not name.
    try std.testing.expect(code > c.HTTPRING_ERR_PROXY);
    for (code_table) |entry| try std.testing.expect(entry.code < code);
    try std.testing.expectEqual(code - 1, code_table.len); // one entry per code but OK

    try std.testing.expectEqual(error.Unknown, errorFromCode(code));
    try std.testing.expectEqualStrings("HTTPRING_UNKNOWN", errorName(error.Unknown));
    try std.testing.expectError(error.ReadTimeout, check(c.HTTPRING_ERR_READ_TIMEOUT));
    try std.testing.expectEqualStrings("HTTPRING_ERR_READ_TIMEOUT", errorName(error.ReadTimeout));
    try std.testing.expectEqualStrings("HTTPRING_ERR_TLS_CERTIFICATE", errorName(error.TlsCertificate));
    try std.testing.expectEqualStrings("HTTPRING_ERR_TLS", errorName(error.Tls));
    try std.testing.expectEqualStrings("HTTPRING_ERR_PROXY", errorName(error.Proxy));
    try std.testing.expectEqualStrings("HTTPRING_ERR_BODY_SOURCE", errorName(error.BodySource));
}

test "per-call error sets keep their own errors and turn others into Unknown" {
    try std.testing.expectError(error.InvalidHandle, checkIn(HandleError, c.HTTPRING_ERR_INVALID_HANDLE));
    try std.testing.expectError(error.ClientClosed, checkIn(HandleError, c.HTTPRING_ERR_CLIENT_CLOSED));
    try std.testing.expectError(error.Unknown, checkIn(HandleError, c.HTTPRING_ERR_DNS));
    try std.testing.expectError(error.InvalidHeader, checkIn(SubmitError, c.HTTPRING_ERR_INVALID_HEADER));
    try std.testing.expectError(error.Unknown, checkIn(SubmitError, c.HTTPRING_ERR_READ_TIMEOUT));
    try checkIn(SubmitError, c.HTTPRING_OK);
    // Every member of the subsets is a real code (or Unknown).
    inline for (.{ SubmitError, HandleError, ReadError }) |E| {
        inline for (@typeInfo(E).error_set.error_names.?) |name| {
            const err: Error = @field(E, name);
            if (err != error.Unknown) try std.testing.expectEqual(err, errorFromCode(codeFromError(err)));
        }
    }
}

test "ReadError is every Error but Pending, and holds every HandleError" {
    const errors = @typeInfo(Error).error_set.error_names.?;
    try std.testing.expectEqual(errors.len - 1, @typeInfo(ReadError).error_set.error_names.?.len);
    inline for (errors) |name| {
        const err = @field(Error, name);
        if (err != error.Pending) try std.testing.expectEqual(err, narrow(ReadError, err));
    }
    inline for (@typeInfo(HandleError).error_set.error_names.?) |name| {
        const err: ReadError = @field(HandleError, name); // coerces: a subset
        try std.testing.expectEqual(err, narrow(ReadError, err));
    }
    try std.testing.expectError(error.ReadTimeout, checkIn(ReadError, c.HTTPRING_ERR_READ_TIMEOUT));
    try std.testing.expectError(error.Unknown, checkIn(ReadError, c.HTTPRING_PENDING));
}

test "every declaration compiles" {
    std.testing.refAllDecls(@This());
    std.testing.refAllDecls(Client);
    std.testing.refAllDecls(Handle);
    std.testing.refAllDecls(Response);
    std.testing.refAllDecls(BodyReader);
    std.testing.refAllDecls(BodyWriter);
    std.testing.refAllDecls(BodySource);
}

test "version is the library's" {
    try std.testing.expect(version().len > 0);
    try std.testing.expectEqual(header_version_num, versionNum());
}

test "features: this build has TLS and HTTP/2" {
    const f = features();
    try std.testing.expect(f.tls and f.http2 and f.proxy and f.socks and f.unix_sockets and f.decompress and f.spec_flags);
}
