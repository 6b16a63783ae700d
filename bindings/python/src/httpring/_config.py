"""Client settings: Timeout and Limits (httpx-shaped), the Retry policy, and their
translation to an engine ``httpring_config``."""

from __future__ import annotations

import math
import os
import socket
import ssl
from ctypes import c_uint16
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ffi


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class _UseClientDefault:
    """Marks an argument left to the client's setting (httpx's USE_CLIENT_DEFAULT)."""

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT: Any = _UseClientDefault()


class Timeout:
    """Timeouts in seconds; ``None`` means no limit.

    ``Timeout(5.0)`` sets connect, read, write and pool to 5 s, as in httpx. ``pool`` bounds
    the wait for a connection under ``Limits`` (``PoolTimeout``); ``write`` how long a write
    to the server may stay blocked (``WriteTimeout``). ``total`` is httpring's addition: a
    deadline for the whole request (submit to last body byte), off unless given.

    Per request (``timeout=`` on a request), every field applies to that request, as in
    httpx. A request's ``write`` limits the socket's writes while it has an HTTP/1.1
    connection, and over HTTP/2 its body's wait for flow-control window.
    """

    __slots__ = ("connect", "read", "write", "pool", "total")

    connect: Optional[float]
    read: Optional[float]
    write: Optional[float]
    pool: Optional[float]
    total: Optional[float]

    def __init__(
        self,
        timeout: Union["Timeout", float, None, Any] = UNSET,
        *,
        connect: Optional[float] = UNSET,
        read: Optional[float] = UNSET,
        write: Optional[float] = UNSET,
        pool: Optional[float] = UNSET,
        total: Optional[float] = UNSET,
    ) -> None:
        if isinstance(timeout, Timeout):
            base = timeout
            self.connect, self.read, self.write, self.pool, self.total = (
                base.connect, base.read, base.write, base.pool, base.total,
            )
        elif isinstance(timeout, tuple):
            # httpx accepts (connect, read, write, pool).
            self.connect, self.read, self.write, self.pool = (tuple(timeout) + (None,) * 4)[:4]
            self.total = None
        else:
            default = None if timeout is UNSET else timeout
            self.connect = self.read = self.write = self.pool = default
            self.total = None
        if connect is not UNSET:
            self.connect = connect
        if read is not UNSET:
            self.read = read
        if write is not UNSET:
            self.write = write
        if pool is not UNSET:
            self.pool = pool
        if total is not UNSET:
            self.total = total
        for name in _TIMEOUT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise TypeError(f"Timeout.{name} must be a number of seconds or None")
                if value < 0 or value != value:
                    raise ValueError(f"Timeout.{name} must be >= 0, got {value!r}")

    def as_ms(self) -> Tuple[int, int, int]:
        """(connect, read, total) in the engine's milliseconds; 0 means no limit."""
        return (_ms(self.connect), _ms(self.read), _ms(self.total))

    def for_request(self, client: "Timeout") -> Tuple[int, int, int, int, int]:
        """This timeout given for one request of a client whose timeout is ``client``:
        (connect, read, total, pool, write) in ms, 0 for no limit; pool and write -1 when
        they are the client's."""
        pool = -1 if self.pool == client.pool else _ms(self.pool)
        write = -1 if self.write == client.write else _ms(self.write)
        return (_ms(self.connect), _ms(self.read), _ms(self.total), pool, write)

    def as_dict(self) -> Dict[str, Optional[float]]:
        """httpx's four timeouts by name (``total`` is httpring's own: see ``Timeout``)."""
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and all(
            getattr(self, n) == getattr(other, n) for n in _TIMEOUT_FIELDS
        )

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in _TIMEOUT_FIELDS)
        return f"Timeout({parts})"


_TIMEOUT_FIELDS = ("connect", "read", "write", "pool", "total")


def _ms(seconds: Optional[float]) -> int:
    if seconds is None:
        return 0
    # The engine reads 0 as "no limit": a zero timeout becomes the shortest one, 1 ms.
    return max(1, math.ceil(seconds * 1000))


TimeoutTypes = Union[Timeout, float, int, None, Tuple[Optional[float], ...]]

DEFAULT_TIMEOUT = Timeout(5.0)


def to_timeout(value: TimeoutTypes) -> Timeout:
    return value if isinstance(value, Timeout) else Timeout(value)


class Limits:
    """Connection-pool limits, as ``httpx.Limits``; ``None`` means no limit.

    ``max_connections``: connections open at once, across all origins; requests beyond it
    wait in one queue, in arrival order, up to ``Timeout.pool`` (``PoolTimeout``).
    ``max_keepalive_connections``: idle keep-alive connections kept, across all origins
    (0: none, every request opens a connection). ``keepalive_expiry``: seconds an idle
    connection is kept.

    httpring's additions: ``max_connections_per_host`` (connections open at once to one
    origin, queued as above), ``max_in_flight`` (requests submitted and not completed; one
    more fails at once with ``TooManyInFlight``, nothing sent), ``max_idle_per_host``
    (idle connections kept per origin; the engine's default is 256), ``max_response_headers``
    (header lines an HTTP/1.1 response may have; the engine's default is 100, as reqwest's:
    more raise ``RemoteProtocolError``) and ``stream_buffer``
    (bytes of a streamed body buffered in the engine: of a streamed response, read from the
    server and not yet by the caller; of a request body given as an iterator, written and
    not yet sent. The engine's default is 256 KiB).

    ``Limits()`` has no caps, as httpx's; a client given no ``limits=`` uses
    ``DEFAULT_LIMITS`` = ``Limits(max_connections=100, max_keepalive_connections=100,
    keepalive_expiry=5.0)``: httpx's, except that every connection under the cap may stay
    idle (httpx keeps 20, which closes and reopens connections whenever more than 20 are
    between requests: 64 requests in flight from asyncio ran at 0.44x).
    """

    __slots__ = (
        "max_connections", "max_keepalive_connections", "keepalive_expiry",
        "max_connections_per_host", "max_in_flight", "max_idle_per_host", "stream_buffer",
        "max_response_headers",
    )

    max_connections: Optional[int]
    max_keepalive_connections: Optional[int]
    keepalive_expiry: Optional[float]
    max_connections_per_host: Optional[int]
    max_in_flight: Optional[int]
    max_idle_per_host: Optional[int]
    stream_buffer: Optional[int]
    max_response_headers: Optional[int]

    def __init__(
        self,
        *,
        max_connections: Optional[int] = None,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = 5.0,
        max_connections_per_host: Optional[int] = None,
        max_in_flight: Optional[int] = None,
        max_idle_per_host: Optional[int] = None,
        stream_buffer: Optional[int] = None,
        max_response_headers: Optional[int] = None,
    ) -> None:
        self.max_connections = _count("max_connections", max_connections, 1)
        self.max_keepalive_connections = _count("max_keepalive_connections", max_keepalive_connections, 0)
        if keepalive_expiry is not None:
            if not isinstance(keepalive_expiry, (int, float)) or isinstance(keepalive_expiry, bool):
                raise TypeError("Limits.keepalive_expiry must be a number of seconds or None")
            if keepalive_expiry < 0 or keepalive_expiry != keepalive_expiry:
                raise ValueError(f"Limits.keepalive_expiry must be >= 0, got {keepalive_expiry!r}")
        self.keepalive_expiry = keepalive_expiry
        self.max_connections_per_host = _count("max_connections_per_host", max_connections_per_host, 1)
        self.max_in_flight = _count("max_in_flight", max_in_flight, 1)
        self.max_idle_per_host = _count("max_idle_per_host", max_idle_per_host, 0)
        self.stream_buffer = _count("stream_buffer", stream_buffer, 1)
        self.max_response_headers = _count("max_response_headers", max_response_headers, 1)

    def apply(self, lib: _ffi.Lib, cfg: Any) -> None:
        if self.max_connections is not None:
            _check(lib.httpring_config_set_max_connections(cfg, self.max_connections), "max_connections")
        if self.max_connections_per_host is not None:
            _check(
                lib.httpring_config_set_max_connections_per_host(cfg, self.max_connections_per_host),
                "max_connections_per_host",
            )
        if self.max_idle_per_host is not None:
            _check(lib.httpring_config_set_pool_max_idle_per_host(cfg, self.max_idle_per_host), "max_idle_per_host")
        keepalive = self.max_keepalive_connections
        if keepalive == 0:
            # The engine's total idle cap reads 0 as "no cap": no reuse is the per-host 0.
            _check(lib.httpring_config_set_pool_max_idle_per_host(cfg, 0), "max_keepalive_connections")
        elif keepalive is not None:
            _check(lib.httpring_config_set_pool_max_idle(cfg, keepalive), "max_keepalive_connections")
        _check(lib.httpring_config_set_pool_idle_timeout_ms(cfg, _ms(self.keepalive_expiry)), "keepalive_expiry")
        if self.max_in_flight is not None:
            _check(lib.httpring_config_set_max_in_flight(cfg, self.max_in_flight), "max_in_flight")
        if self.stream_buffer is not None:
            _check(lib.httpring_config_set_stream_buffer(cfg, self.stream_buffer), "stream_buffer")
        if self.max_response_headers is not None:
            _check(
                lib.httpring_config_set_max_response_headers(cfg, self.max_response_headers),
                "max_response_headers",
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__ if n in _HTTPX_LIMITS or getattr(self, n) is not None)
        return f"Limits({parts})"


_HTTPX_LIMITS = ("max_connections", "max_keepalive_connections", "keepalive_expiry")


def _count(name: str, value: Optional[int], least: int) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Limits.{name} must be an int or None, got {value!r}")
    if value < least:
        raise ValueError(f"Limits.{name} must be >= {least} (None: no limit), got {value!r}")
    return value


#: For a client given no ``limits=``: httpx's defaults, except that idle connections are
#: capped by ``max_connections`` alone (see ``Limits``).
DEFAULT_LIMITS = Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0)


class Retry:
    """The engine's retry policy (off unless a client is given one: ``Client(retries=...)``).

    ``max_retries``: attempts after the first. The engine retries failures to connect (any
    method: nothing was sent); for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS,
    TRACE) also a connection that failed or timed out before any byte of a response, and a
    response whose status is in ``statuses``; other methods (POST, PATCH) only with
    ``non_idempotent=True`` (they may have been processed: sent again, they could be done
    twice). Retry n waits between half and all of ``backoff * 2**(n-1)`` seconds, at most
    ``backoff_max``, or what the response's ``Retry-After`` asks when that is within
    ``backoff_max`` (beyond it the response is the result). Every attempt and wait is
    inside the request's total timeout (``Timeout(total=...)``).

    The engine decides and retries; ``response.extensions["timing"]["attempts"]`` (with
    ``Client(timing=True)``) and ``HTTPError.attempts`` tell how many attempts were made.
    """

    __slots__ = ("max_retries", "statuses", "backoff", "backoff_max", "non_idempotent")

    max_retries: int
    statuses: Tuple[int, ...]
    backoff: float
    backoff_max: float
    non_idempotent: bool

    def __init__(
        self,
        max_retries: int = 3,
        *,
        statuses: Iterable[int] = (429, 502, 503, 504),
        backoff: float = 0.1,
        backoff_max: float = 10.0,
        non_idempotent: bool = False,
    ) -> None:
        self.max_retries = retry_count(max_retries, "Retry.max_retries")
        codes = []
        for status in statuses:
            if isinstance(status, bool) or not isinstance(status, int):
                raise TypeError(f"Retry.statuses must hold ints, got {status!r}")
            if not 100 <= status <= 599:
                raise ValueError(f"Retry.statuses: {status!r} is not a status code (100..599)")
            codes.append(status)
        self.statuses = tuple(codes)
        for name, value in (("backoff", backoff), ("backoff_max", backoff_max)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Retry.{name} must be a number of seconds, got {value!r}")
            # The engine's least wait is 1 ms (a positive value is rounded up to it).
            if not 0 < value < _MAX_BACKOFF:
                raise ValueError(f"Retry.{name} must be > 0 seconds (and finite), got {value!r}")
        if backoff_max < backoff:
            raise ValueError(f"Retry.backoff_max ({backoff_max!r} s) must be >= Retry.backoff ({backoff!r} s)")
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self.non_idempotent = bool(non_idempotent)

    def apply(self, lib: _ffi.Lib, cfg: Any) -> None:
        _check(lib.httpring_config_set_retries(cfg, self.max_retries), "Retry.max_retries")
        _check(
            lib.httpring_config_set_retry_backoff_ms(cfg, _ms(self.backoff), _ms(self.backoff_max)),
            "Retry.backoff",
        )
        n = len(self.statuses)
        _check(lib.httpring_config_set_retry_statuses(cfg, (c_uint16 * n)(*self.statuses), n), "Retry.statuses")
        _check(lib.httpring_config_set_retry_non_idempotent(cfg, self.non_idempotent), "Retry.non_idempotent")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Retry) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Retry({parts})"


#: Backoffs are sent to the engine in ms as a uint64_t; a year is plenty.
_MAX_BACKOFF = 365 * 86400.0

RetryTypes = Union[Retry, int, None]


def retry_count(value: Any, what: str) -> int:
    """A number of retries (the engine's uint32_t)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {value!r}")
    if not 0 <= value < 1 << 32:
        raise ValueError(f"{what} must be from 0 to 2**32-1, got {value!r}")
    return value


def to_retry(value: RetryTypes) -> Optional[Retry]:
    """``retries=`` of a client: a Retry, an int (``Retry(max_retries=n)``) or None (no
    retries)."""
    if value is None or isinstance(value, Retry):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"retries= takes an int (the most retries), an httpring.Retry or None, not {value!r}")
    return Retry(retry_count(value, "retries"))


def _check(code: int, what: str, lib: Any = None) -> None:
    """Raises ValueError for a failed config call: ``what``, and the engine's reason when
    ``lib`` is given (the call noted one), else the code's name."""
    if code != _ffi.HTTPRING_OK:
        why = _ffi.last_error_message(lib) if lib is not None else ""
        raise ValueError(f"{what}: {why or _ffi.error_name(code)}")


def build_config(
    lib: _ffi.Lib,
    *,
    timeout: Timeout,
    limits: Limits,
    headers: Any,
    max_body_size: Optional[int],
    worker_threads: int,
    transport: Optional["Transport"] = None,
    follow_redirects: bool = False,
    max_redirects: Optional[int] = None,
    auth: Any = None,
    cookie_jar: bool = False,
    retries: Optional[Retry] = None,
    redirect_stops: Sequence[Tuple[bytes, bool]] = (),
) -> Any:
    """Returns a new ``httpring_config*``; the caller frees it after ``httpring_client_new``.
    ``auth`` is an ``_auth._Credentials`` (BasicAuth, DigestAuth) or None."""
    cfg = lib.httpring_config_new()
    if not cfg:
        raise MemoryError("httpring_config_new failed")
    try:
        connect, read, total = timeout.as_ms()
        _check(lib.httpring_config_set_connect_timeout_ms(cfg, connect), "connect timeout")
        _check(lib.httpring_config_set_read_timeout_ms(cfg, read), "read timeout")
        _check(lib.httpring_config_set_timeout_ms(cfg, total), "total timeout")
        _check(lib.httpring_config_set_pool_timeout_ms(cfg, _ms(timeout.pool)), "pool timeout")
        _check(lib.httpring_config_set_write_timeout_ms(cfg, _ms(timeout.write)), "write timeout")
        limits.apply(lib, cfg)
        if max_body_size is not None:
            _check(lib.httpring_config_set_max_body_size(cfg, max_body_size), "max_body_size")
        _check(lib.httpring_config_set_worker_threads(cfg, worker_threads), "worker_threads")
        # Bodies are read with httpring_handles_read_pieces: copied piece by piece into
        # the response's bytes, never joined first.
        _check(lib.httpring_config_set_body_pieces(cfg, True), "body pieces")
        for name, value in headers:
            if name.lower() == b"user-agent":
                _check(lib.httpring_config_set_user_agent(cfg, value), "User-Agent")
            else:
                _check(
                    lib.httpring_config_add_default_header(cfg, name, value),
                    f"header {name!r}",
                )
        _check(lib.httpring_config_set_follow_redirects(cfg, follow_redirects), "follow_redirects")
        if max_redirects is not None:
            _check(lib.httpring_config_set_max_redirects(cfg, max_redirects), "max_redirects")
        for pattern, stop in redirect_stops:
            _check(lib.httpring_config_add_redirect_stop(cfg, pattern, stop), f"mounts pattern {pattern!r}")
        if auth is not None:
            auth.apply_config(lib, cfg)
        if cookie_jar:
            _check(lib.httpring_config_set_cookie_jar(cfg, True), "cookie jar")
        if transport is not None:
            transport.apply(lib, cfg)
        if retries is not None:
            retries.apply(lib, cfg)
    except BaseException:
        lib.httpring_config_free(cfg)
        raise
    return cfg


# --- transport: TLS, HTTP versions, proxies, DNS, Unix sockets ---------------------------

VerifyTypes = Union[bool, str, "os.PathLike[str]", bytes, "ssl.SSLContext"]
CertTypes = Union[str, "os.PathLike[str]", Tuple[Any, ...]]
ResolveTypes = Union[Mapping[Any, Any], Iterable[str], None]


class Proxy:
    """A proxy, as httpx.Proxy: ``proxy=Proxy("http://proxy:3128", auth=("user", "pass"))``.
    The engine sends the credentials (also read from the URL's user info) as
    ``Proxy-Authorization: Basic`` to an HTTP proxy, or in a SOCKS5 handshake; ``url``
    keeps none of them. ``headers`` and ``ssl_context`` raise NotImplementedError (the
    engine sends a proxy nothing else)."""

    __slots__ = ("url", "auth", "headers")

    def __init__(
        self,
        url: Any,
        *,
        ssl_context: Any = None,
        auth: Optional[Tuple[str, str]] = None,
        headers: Any = None,
    ) -> None:
        from urllib.parse import unquote, urlsplit

        if ssl_context is not None:
            raise NotImplementedError("Proxy(ssl_context=): the engine's TLS settings apply (verify=, cert=)")
        if headers:
            raise NotImplementedError("Proxy(headers=): the engine sends a proxy no headers but Proxy-Authorization")
        text = str(url)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https", "socks5", "socks5h"):
            raise ValueError(f"Unknown scheme for proxy URL {text!r}")
        if parts.username is not None and auth is None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        if auth is not None and not (isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(x, str) for x in auth)):
            raise TypeError(f"Proxy(auth=) takes a (username, password) tuple of str, not {auth!r}")
        self.url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        self.auth = auth
        self.headers: Dict[str, str] = {}

    def engine_url(self) -> str:
        """The URL the engine is given: ``url`` with the credentials, percent-encoded."""
        if self.auth is None:
            return self.url
        from urllib.parse import quote, urlsplit

        parts = urlsplit(self.url)
        user, password = (quote(x, safe="") for x in self.auth)
        return parts._replace(netloc=f"{user}:{password}@{parts.netloc}").geturl()

    def __repr__(self) -> str:
        auth = f", auth=({self.auth[0]!r}, '********')" if self.auth else ""
        return f"Proxy({self.url!r}{auth})"


class Transport:
    """The engine settings behind ``verify=``, ``cert=``, ``http1=``/``http2=``,
    ``proxy=``, ``trust_env=``, ``resolve=``, ``uds=``, ``local_address=``,
    ``socket_options=``. Checked (and files read) when the
    client is created, so a bad path raises there rather than at the first request."""

    __slots__ = (
        "http_version", "h2c_prior_knowledge", "danger_accept_invalid_certs", "root_store",
        "ca_pems", "client_cert", "min_tls_version", "proxy", "use_env_proxy", "no_proxy",
        "resolve", "dns_cache_ttl_ms", "uds", "local_address", "keepalive", "h2_keepalive",
        "low_speed", "max_recv_speed", "max_send_speed", "pinned_public_key",
    )

    def __init__(
        self,
        *,
        verify: Any = True,
        cert: Any = None,
        http1: bool = True,
        http2: bool = False,
        http2_prior_knowledge: bool = False,
        http2_keepalive: Any = None,
        low_speed_limit: Any = None,
        max_recv_speed: Optional[int] = None,
        max_send_speed: Optional[int] = None,
        pinned_public_key: Optional[str] = None,
        proxy: Any = None,
        trust_env: bool = True,
        no_proxy: Optional[Iterable[str]] = None,
        resolve: ResolveTypes = None,
        dns_cache_ttl: Optional[float] = UNSET,
        uds: Any = None,
        local_address: Optional[str] = None,
        socket_options: Any = None,
    ) -> None:
        if http1 and http2:
            self.http_version = _ffi.HTTPRING_HTTP_PREF_NEGOTIATE
        elif http1:
            self.http_version = _ffi.HTTPRING_HTTP_PREF_HTTP1_ONLY
        elif http2:
            # As httpcore does for http1=False: h2 by ALPN for https, h2c prior knowledge
            # for http.
            self.http_version = _ffi.HTTPRING_HTTP_PREF_HTTP2_ONLY
        else:
            raise ValueError("http1=False and http2=False leave no protocol to speak")
        self.h2c_prior_knowledge = bool(http2_prior_knowledge)
        self.h2_keepalive = _h2_keepalive(http2_keepalive)
        self.low_speed = _low_speed(low_speed_limit)
        self.max_recv_speed = _rate("max_recv_speed", max_recv_speed)
        self.max_send_speed = _rate("max_send_speed", max_send_speed)
        if pinned_public_key is not None and not isinstance(pinned_public_key, str):
            raise TypeError("pinned_public_key= takes a str: 'sha256//BASE64[;sha256//BASE64...]'")
        self.pinned_public_key = pinned_public_key
        self.danger_accept_invalid_certs = False
        self.root_store: Optional[int] = None  # None: the engine's default (system roots)
        self.ca_pems: List[bytes] = []
        self.client_cert: Optional[Tuple[bytes, bytes, Optional[bytes]]] = None
        self.min_tls_version: Optional[int] = None
        self._verify(verify, trust_env)
        if cert is not None:
            self.client_cert = _read_cert(cert)
        self.proxy: Optional[bytes] = None
        if proxy is not None:
            # A URL string, or an object with a .url (httpx.Proxy, httpx.URL).
            url = proxy.engine_url() if isinstance(proxy, Proxy) else getattr(proxy, "url", proxy)
            self.proxy = os.fsencode(str(url))
        self.use_env_proxy = bool(trust_env)
        if isinstance(no_proxy, str):
            no_proxy = no_proxy.split(",")
        self.no_proxy = [_host(h.strip()) for h in no_proxy or () if h.strip()]
        self.resolve = _resolve_entries(resolve)
        if dns_cache_ttl is UNSET:
            self.dns_cache_ttl_ms: Optional[int] = None
        else:
            self.dns_cache_ttl_ms = 0 if not dns_cache_ttl else _ms(dns_cache_ttl)
        self.uds = None if uds is None else os.fsencode(uds)
        if local_address is not None and not isinstance(local_address, str):
            raise TypeError(f"local_address= takes an IP address string, not {type(local_address).__name__}")
        self.local_address = None if local_address is None else local_address.encode()
        self.keepalive = _keepalive(socket_options)

    def _verify(self, verify: Any, trust_env: bool) -> None:
        if verify is True:
            # httpx's rule: with trust_env, SSL_CERT_FILE / SSL_CERT_DIR replace the
            # default roots.
            if trust_env and os.environ.get("SSL_CERT_FILE"):
                self._trust_only(_read_ca_path(os.environ["SSL_CERT_FILE"], "SSL_CERT_FILE"))
            elif trust_env and os.environ.get("SSL_CERT_DIR"):
                self._trust_only(_read_ca_path(os.environ["SSL_CERT_DIR"], "SSL_CERT_DIR"))
            return
        if verify is False:
            self.danger_accept_invalid_certs = True
            return
        if isinstance(verify, (bytes, bytearray, memoryview)):
            self._trust_only([bytes(verify)])
            return
        if isinstance(verify, (str, os.PathLike)):
            self._trust_only(_read_ca_path(verify, "verify"))
            return
        if isinstance(verify, ssl.SSLContext):
            self._from_ssl_context(verify)
            return
        raise TypeError(
            "verify= takes True (system roots), False (no verification), a CA bundle path, "
            f"PEM bytes or an ssl.SSLContext; got {type(verify).__name__}"
        )

    def _trust_only(self, pems: List[bytes]) -> None:
        """Trusts exactly these CAs (as ssl.create_default_context(cafile=...) does)."""
        self.root_store = _ffi.HTTPRING_ROOTS_NONE
        self.ca_pems.extend(pems)

    def _from_ssl_context(self, ctx: "ssl.SSLContext") -> None:
        """What an SSLContext can tell: whether to verify, the CA certificates loaded into
        it from a file or cadata, the minimum TLS version. (Roots it would load lazily from
        a directory, and any client certificate, cannot be read back: pass cert=.)"""
        if ctx.verify_mode == ssl.CERT_NONE:
            self.danger_accept_invalid_certs = True
            return
        ders = ctx.get_ca_certs(binary_form=True)
        if ders:
            self._trust_only([ssl.DER_cert_to_PEM_cert(d).encode("ascii") for d in ders])
        if ctx.minimum_version == ssl.TLSVersion.TLSv1_3:
            self.min_tls_version = 13
        elif ctx.minimum_version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            pass  # the engine's floor is TLS 1.2 anyway

    def apply(self, lib: _ffi.Lib, cfg: Any) -> None:
        _check(lib.httpring_config_set_http_version(cfg, self.http_version), "http1/http2")
        if self.h2c_prior_knowledge:
            _check(lib.httpring_config_set_h2c_prior_knowledge(cfg, True), "http2_prior_knowledge")
        if self.low_speed is not None:
            _check(lib.httpring_config_set_low_speed(cfg, *self.low_speed), "low_speed_limit", lib)
        if self.pinned_public_key:
            pins = self.pinned_public_key.encode("utf-8")
            _check(lib.httpring_config_set_pinned_public_key(cfg, pins), "pinned_public_key", lib)
        if self.max_recv_speed is not None:
            _check(lib.httpring_config_set_max_recv_speed(cfg, self.max_recv_speed), "max_recv_speed", lib)
        if self.max_send_speed is not None:
            _check(lib.httpring_config_set_max_send_speed(cfg, self.max_send_speed), "max_send_speed", lib)
        if self.h2_keepalive is not None:
            _check(lib.httpring_config_set_http2_keepalive(cfg, *self.h2_keepalive, True), "http2_keepalive", lib)
        if self.danger_accept_invalid_certs:
            _check(lib.httpring_config_set_danger_accept_invalid_certs(cfg, True), "verify=False")
        if self.root_store is not None:
            _check(lib.httpring_config_set_root_store(cfg, self.root_store), "verify")
        for pem in self.ca_pems:
            _check(lib.httpring_config_add_ca_pem(cfg, pem, len(pem)), "verify: no CA certificate in the PEM")
        if self.client_cert is not None:
            chain, key, password = self.client_cert
            if password is None:
                code = lib.httpring_config_set_client_cert_pem(cfg, chain, len(chain), key, len(key))
            else:
                code = lib.httpring_config_set_client_cert_pem_password(
                    cfg, chain, len(chain), key, len(key), password
                )
            _check(code, "cert", lib)
        if self.min_tls_version is not None:
            _check(lib.httpring_config_set_min_tls_version(cfg, self.min_tls_version), "minimum TLS version")
        if self.proxy is not None:
            _check(lib.httpring_config_set_proxy(cfg, self.proxy), f"proxy={self.proxy!r}")
        _check(lib.httpring_config_set_use_env_proxy(cfg, self.use_env_proxy), "trust_env")
        # SSLKEYLOGFILE is one of the variables trust_env covers (as in httpx).
        _check(lib.httpring_config_set_tls_key_log(cfg, self.use_env_proxy), "trust_env")
        for host in self.no_proxy:
            _check(lib.httpring_config_add_no_proxy(cfg, host), f"no_proxy {host!r}")
        for host, port, addr in self.resolve:
            _check(lib.httpring_config_add_resolve(cfg, host, port, addr), f"resolve {host!r}:{port} -> {addr!r}")
        if self.dns_cache_ttl_ms is not None:
            _check(lib.httpring_config_set_dns_cache_ttl_ms(cfg, self.dns_cache_ttl_ms), "dns_cache_ttl")
        if self.uds is not None:
            _check(lib.httpring_config_set_unix_socket(cfg, self.uds), f"uds={self.uds!r}")
        if self.local_address is not None:
            _check(lib.httpring_config_set_local_address(cfg, self.local_address), "local_address", lib)
        if self.keepalive is not None:
            _check(lib.httpring_config_set_tcp_keepalive(cfg, True, *self.keepalive), "socket_options", lib)


def _rate(name: str, value: Any) -> Optional[int]:
    """A rate cap in bytes per second (an int above 0), or None for none."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"{name}= takes bytes per second (an int above 0), not {value!r}")
    return value


def _low_speed(value: Any) -> Optional[Tuple[int, int]]:
    """``low_speed_limit=(bytes_per_second, seconds)`` (curl's ``--speed-limit`` and
    ``--speed-time``) as (bytes/s, ms); None: off."""
    if value is None:
        return None
    ok = isinstance(value, tuple) and len(value) == 2
    rate, seconds = value if ok else (None, None)
    if not ok or isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"low_speed_limit= takes (bytes_per_second, seconds), not {value!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"low_speed_limit= takes (bytes_per_second, seconds), not {value!r}")
    return rate, _ms(seconds)


def _h2_keepalive(value: Any) -> Optional[Tuple[int, int]]:
    """``http2_keepalive=``: a PING every ``interval`` seconds, or ``(interval, timeout)``
    (timeout default 20 s), as (interval ms, timeout ms); None: off."""
    if value is None:
        return None
    interval, timeout = value if isinstance(value, tuple) else (value, 20.0)
    for v in (interval, timeout):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or math.isinf(v):
            raise ValueError(f"http2_keepalive= takes seconds > 0, or (interval, timeout), not {value!r}")
    return _ms(interval), _ms(timeout)


#: The socket options ``socket_options=`` takes (httpx passes any to setsockopt; the
#: engine sets its sockets up itself, so it takes the ones it has a setting for), by
#: (level, option): what each sets in the keepalive tuple (idle ms, interval ms, probes).
_KEEPALIVE_OPTIONS = {
    (socket.IPPROTO_TCP, opt): slot
    for name, slot in (("TCP_KEEPIDLE", 0), ("TCP_KEEPALIVE", 0), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 2))
    for opt in [getattr(socket, name, None)]  # TCP_KEEPALIVE: macOS's TCP_KEEPIDLE
    if opt is not None
}


def _keepalive(options: Any) -> Optional[Tuple[int, int, int]]:
    """``socket_options=`` (httpx's list of ``(level, option, value)``) as the engine's TCP
    keepalive: None when ``SO_KEEPALIVE`` is not on; else (idle ms, interval ms, probes),
    0 for the system's value. As the kernel does, the timings count only with
    ``SO_KEEPALIVE`` on. ``TCP_NODELAY`` on is accepted (the engine always sets it);
    any other option raises NotImplementedError."""
    if not options:
        return None
    on = False
    timing = [0, 0, 0]
    for entry in options:
        if not isinstance(entry, tuple) or len(entry) != 3:
            raise TypeError(f"socket_options: each entry is (level, option, value), not {entry!r}")
        level, option, value = entry
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int) or value < 0:
            raise TypeError(f"socket_options: ({level}, {option}, ...) takes an int value >= 0, not {value!r}")
        if (level, option) == (socket.SOL_SOCKET, socket.SO_KEEPALIVE):
            on = value != 0
        elif (level, option) in _KEEPALIVE_OPTIONS:
            slot = _KEEPALIVE_OPTIONS[(level, option)]
            timing[slot] = value if slot == 2 else value * 1000
        elif (level, option) == (socket.IPPROTO_TCP, socket.TCP_NODELAY) and value:
            continue
        else:
            raise NotImplementedError(
                f"socket_options: ({level}, {option}, {value}) is not a setting of the engine's; it takes "
                "SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and TCP_NODELAY on (always set)"
            )
    return (timing[0], timing[1], timing[2]) if on else None


def _read(path: Any) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _read_ca_path(path: Any, what: str) -> List[bytes]:
    """A CA bundle file, or every file of a directory (as OpenSSL's capath)."""
    if os.path.isdir(path):
        pems = []
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full):
                data = _read(full)
                if b"-----BEGIN CERTIFICATE-----" in data:
                    pems.append(data)
        if not pems:
            raise ValueError(f"{what}: no PEM certificate in directory {os.fspath(path)!r}")
        return pems
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: could not find a TLS CA certificate bundle, invalid path: {os.fspath(path)!r}")
    return [_read(path)]


def _read_cert(cert: Any) -> Tuple[bytes, bytes, Optional[bytes]]:
    """httpx's cert=: a PEM file holding the chain and the key, (certfile, keyfile), or
    (certfile, keyfile, password) for an encrypted key (PKCS#8: ``BEGIN ENCRYPTED PRIVATE
    KEY``); the password is a str, bytes, or a function returning one (as ssl's)."""
    if isinstance(cert, (str, os.PathLike)):
        data = _read(cert)
        return data, data, None
    if isinstance(cert, tuple) and len(cert) in (2, 3):
        certfile, keyfile = cert[0], cert[1]
        password = cert[2] if len(cert) == 3 else None
        if callable(password):
            password = password()
        if isinstance(password, str):
            password = password.encode("utf-8")
        if password is not None and (not isinstance(password, (bytes, bytearray)) or b"\0" in password):
            raise TypeError("cert=(certfile, keyfile, password): the password is a str or bytes without NUL")
        chain = _read(certfile)
        key = _read(keyfile) if keyfile is not None else chain
        return chain, key, (bytes(password) if password is not None else None)
    raise TypeError("cert= takes a PEM file path, a (certfile, keyfile) or a (certfile, keyfile, password) tuple")


def _host(host: str) -> bytes:
    return host.encode("ascii") if host.isascii() else host.encode("idna")


def _resolve_entries(resolve: ResolveTypes) -> List[Tuple[bytes, int, bytes]]:
    """resolve=: curl-style "host:port:addr" strings (port 0 or * for any; addr may be an
    IPv6 literal, with or without brackets), or a mapping of "host" or ("host", port) to
    one address or a list of them."""
    out: List[Tuple[bytes, int, bytes]] = []
    if resolve is None:
        return out
    if isinstance(resolve, Mapping):
        for key, addrs in resolve.items():
            host, port = (key, 0) if isinstance(key, str) else (key[0], int(key[1]))
            for addr in [addrs] if isinstance(addrs, str) else addrs:
                out.append((_host(host), port, str(addr).strip("[]").encode("ascii")))
        return out
    if isinstance(resolve, str):
        resolve = [resolve]
    for entry in resolve:
        parts = entry.split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"resolve entry {entry!r}: expected 'host:port:addr'")
        host, port_s, addr = parts
        port = 0 if port_s in ("", "*") else int(port_s)
        for a in addr.split(","):
            out.append((_host(host), port, a.strip().strip("[]").encode("ascii")))
    return out
