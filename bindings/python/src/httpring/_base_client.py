"""What Client and AsyncClient share: options, and turning request arguments into the
engine's encoded form. Redirects and credentials are the engine's: the client's settings go
into its config; a request that asks for other ones is marked with ``Overrides``."""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from ._auth import Auth, AuthTypes, BasicAuth, _Credentials, _Found, to_auth
from ._cookies import ClientCookies, ClientJar, CookieTypes, Cookies, _pair, _Target, parse_netscape
from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    UNSET,
    Retry,
    USE_CLIENT_DEFAULT,
    CertTypes,
    Limits,
    ResolveTypes,
    RetryTypes,
    TimeoutTypes,
    Transport,
    VerifyTypes,
    to_retry,
    to_timeout,
)
from ._engine import Engine, Overrides, Prepared, Scratch, Stats, prepare_timeout, with_retries, with_speeds
from . import _ffi
from ._exceptions import HTTPError, InvalidURL, LocalProtocolError, TooManyRedirects
from ._transports import Mounts, TransportTypes, _EngineSettings
from ._models import (
    HeaderPairs,
    HeaderTypes,
    REDIRECT_STATUSES,
    Headers,
    QueryParamTypes,
    Request,
    Response,
    _Defaults,
    encode_body,
    encode_headers,
    encode_params,
    has_header,
    request_from,
)
from ._multipart import Form, encode_multipart
from ._redirects import CREDENTIAL_HEADERS, next_request
from ._upload import Upload
from ._urls import QueryParams, add_query, encode, join_base, to_str

DEFAULT_MAX_REDIRECTS = 20

_METHODS: Dict[str, bytes] = {
    m: m.encode() for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
}
_URL_CACHE_SIZE = 512

#: An event hook: called with the Request or the Response (AsyncClient awaits what an
#: async one returns).
EventHook = Callable[..., Any]


class BaseClient:
    def __init__(
        self,
        *,
        headers: HeaderTypes = None,
        params: QueryParamTypes = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        base_url: Any = "",
        follow_redirects: bool = False,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        auth: AuthTypes = None,
        cookies: CookieTypes = None,
        limits: Limits = DEFAULT_LIMITS,
        http1: bool = True,
        http2: bool = False,
        http2_prior_knowledge: bool = False,
        http2_keepalive: Any = None,
        low_speed_limit: Any = None,
        max_recv_speed: Optional[int] = None,
        max_send_speed: Optional[int] = None,
        pinned_public_key: Optional[str] = None,
        verify: VerifyTypes = True,
        cert: Optional[CertTypes] = None,
        proxy: Any = None,
        trust_env: bool = True,
        no_proxy: Optional[Iterable[str]] = None,
        resolve: ResolveTypes = None,
        dns_cache_ttl: Optional[float] = UNSET,
        uds: Optional[Union[str, "os.PathLike[str]"]] = None,
        local_address: Optional[str] = None,
        socket_options: Any = None,
        max_body_size: Optional[int] = None,
        worker_threads: int = 1,
        event_hooks: Optional[Mapping[str, List[EventHook]]] = None,
        transport: TransportTypes = None,
        mounts: Optional[Mapping[str, TransportTypes]] = None,
        retries: RetryTypes = None,
        timing: bool = False,
        default_encoding: Union[str, Callable[[bytes], Optional[str]]] = "utf-8",
    ) -> None:
        if not (isinstance(default_encoding, str) or callable(default_encoding)):
            raise TypeError(
                f"default_encoding must be a codec name or a function of the body, not {type(default_encoding).__name__}"
            )
        if isinstance(transport, _EngineSettings):
            # HTTPTransport(...): the engine's settings, as httpx's transport holds its own.
            settings = transport._settings
            verify, cert, trust_env, http1, http2 = (settings[k] for k in ("verify", "cert", "trust_env", "http1", "http2"))
            limits, proxy, uds, retries = (settings[k] for k in ("limits", "proxy", "uds", "retries"))
            local_address, socket_options = settings["local_address"], settings["socket_options"]
            transport = None
        #: ``transport=`` (a MockTransport...): requests go to it instead of the engine;
        #: with ``mounts=``, a ``Mounts`` that routes by URL (None: the engine). One
        #: attribute either way: CPython 3.11 keeps an instance's attributes in a shared,
        #: specialised layout only up to 30 of them, and the client is at 29.
        self._transport: Any = Mounts(transport, mounts) if mounts else transport
        self._request_hooks: List[EventHook] = []
        self._response_hooks: List[EventHook] = []
        if event_hooks is not None:
            self.event_hooks = event_hooks
        engine_transport = Transport(
            verify=verify,
            cert=cert,
            http1=http1,
            http2=http2,
            http2_prior_knowledge=http2_prior_knowledge,
            http2_keepalive=http2_keepalive,
            low_speed_limit=low_speed_limit,
            max_recv_speed=max_recv_speed,
            max_send_speed=max_send_speed,
            pinned_public_key=pinned_public_key,
            proxy=proxy,
            trust_env=trust_env,
            no_proxy=no_proxy,
            resolve=resolve,
            dns_cache_ttl=dns_cache_ttl,
            uds=uds,
            local_address=local_address,
            socket_options=socket_options,
        )
        self._timeout = to_timeout(timeout)
        self._headers = _ClientHeaders(headers)
        self._params = encode_params(params)
        self._trust_env = bool(trust_env)
        self._base_url = to_str(base_url)
        max_redirects = _check_max_redirects(max_redirects)
        # What the engine client is configured with (fixed); follow_redirects and
        # max_redirects may be reassigned later, as in httpx (see _sync_overrides).
        self._engine_follow = self._follow = bool(follow_redirects)
        self._engine_max = self._max = max_redirects
        self._default_overrides: Optional[Overrides] = None
        #: ``client.headers`` as they are, for the requests of the responses sent now
        #: (``Response.request``; renewed by each change, not changed in place).
        self._sent_headers: _Defaults = self._headers.snapshot
        # Removing one of the engine's default headers makes every request leave it out
        # (_sync_overrides); weakly, so the headers do not keep the client alive.
        self._headers.on_change = weakref.WeakMethod(self._sync_overrides)
        #: The client's auth (``client.auth``). Credentials (Basic, Digest) are held by the
        #: engine (this only says which they are); a custom flow runs here (``_send_hooked``).
        self._auth: Optional[Auth] = to_auth(auth)
        #: The credentials the engine client was configured with (fixed); ``client.auth``
        #: may be reassigned later, as in httpx (see _sync_overrides).
        self._engine_auth = self._auth if isinstance(self._auth, _Credentials) else None
        self._limits = limits
        self._verify = verify
        #: The engine's retry policy (None: no retries).
        self._retries = to_retry(retries)
        # Default headers, credentials among them, are the engine's: it withholds
        # Authorization, Cookie and Proxy-Authorization when a redirect leaves the origin.
        self._engine = Engine(
            timeout=self._timeout,
            limits=limits,
            headers=encode_headers(self._headers),
            max_body_size=max_body_size,
            worker_threads=worker_threads,
            transport=engine_transport,
            follow_redirects=self._follow,
            max_redirects=max_redirects,
            auth=self._engine_auth,
            cookie_jar=True,  # httpx clients always have a jar
            retries=self._retries,
            timing=bool(timing),
            redirect_stops=self._transport.redirect_stops() if self._transport.__class__ is Mounts else (),
        )
        # The engine's own defaults are listed too (its User-Agent, Accept-Encoding), as
        # httpx lists its own: they can be read, replaced and removed like the others.
        self._headers.add_engine_defaults(self._engine.default_headers())
        self._default_encoding = default_encoding
        if default_encoding != "utf-8":
            self._engine.default_encoding = default_encoding
        if self._auth is not self._engine_auth:  # a custom flow: every request runs it
            self._sync_overrides()
        self._sent_headers = self._headers.snapshot
        self._url_cache: Dict[str, Tuple[str, bytes]] = {}
        # url -> (prepared GET, URL string, the cookie state it has): a bare get(url) skips
        # _prepare entirely (while the client's cookies with no domain are the same).
        self._get_cache: Dict[Any, Tuple[Prepared, str, Any]] = {}
        self._tls = threading.local()
        # The jar is the engine's; the client only keeps the cookies with no domain, sent
        # as the request's own Cookie header.
        self._jar = ClientJar(self._engine)
        # A request's own Cookie header replaces the client's default one in the engine:
        # the cookies the client adds to a request start from the default.
        default_cookie = self._headers.get("cookie")
        self._default_cookie = default_cookie.encode("utf-8") if default_cookie else b""
        if cookies:
            try:
                self._jar.seed(Cookies(cookies))
            except BaseException:
                self._engine.close()
                raise
        self._setup()

    def _setup(self) -> None:
        """Subclass hook, run at the end of __init__."""

    def _mount(self, method: str) -> None:
        """Checks the ``mounts=`` transports (each must have ``method``) and orders them."""
        transport = self._transport
        if transport.__class__ is Mounts:
            try:
                transport.build(method)
            except BaseException:
                self._engine.close()
                raise

    def _add_timeout_extension(self, request: Request) -> None:
        """Tells a transport the request's timeouts, as httpx does: ``extensions["timeout"]``,
        httpx's four by name (seconds, None for no limit), the request's own over the
        client's. ``HTTPTransport`` applies them; a custom transport may read them."""
        if "timeout" in request.extensions:
            return
        timeouts = self._timeout.as_dict()
        own = request._timeout
        if own is not None:  # (connect, read, total, pool, retries, speeds, write) in ms
            for key, ms in (("connect", own[0]), ("read", own[1]), ("pool", own[3]), ("write", own[6])):
                if ms >= 0:  # -1: the client's
                    timeouts[key] = ms / 1000 if ms else None
        request.extensions["timeout"] = timeouts

    def _transport_for(self, url: str) -> Any:
        """The transport a request to ``url`` goes to: a mount's, else ``transport=``'s;
        None for the engine."""
        transport = self._transport
        return transport.route(url) if transport.__class__ is Mounts else transport

    def _transports(self) -> List[Any]:
        """Every transport the client holds (``transport=`` and the mounted ones), once each:
        what closing the client closes."""
        transport = self._transport
        return transport.all() if transport.__class__ is Mounts else [t for t in [transport] if t is not None]

    @property
    def mounts(self) -> Dict[str, Any]:
        """``mounts=``: URL pattern -> transport, most specific first (read-only)."""
        transport = self._transport
        return transport.patterns() if transport.__class__ is Mounts else {}

    # --- event hooks and transports ---
    @property
    def event_hooks(self) -> Dict[str, List[EventHook]]:
        """``{"request": [...], "response": [...]}``, as in httpx: request hooks are called
        with each Request before it is sent, response hooks with each Response once its
        head is in (before the caller sees it; ``raise_for_status()`` there raises to the
        caller). The lists are live: append to them, or assign a new mapping. Redirect hops
        the engine follows do not run them."""
        return {"request": self._request_hooks, "response": self._response_hooks}

    @event_hooks.setter
    def event_hooks(self, event_hooks: Mapping[str, List[EventHook]]) -> None:
        unknown = set(event_hooks) - {"request", "response"}
        if unknown:
            raise ValueError(f"unknown event hook kind(s): {sorted(unknown)} (use 'request' and 'response')")
        self._request_hooks = list(event_hooks.get("request", []))
        self._response_hooks = list(event_hooks.get("response", []))

    def _as_request(self, item: Any) -> Request:
        """send_many()'s items as Requests."""
        if isinstance(item, Request):
            return item
        prep, method, url = self._from_request(item)
        return request_from(prep, method, url, self._headers)

    def _add_jar_cookies(self, request: Request) -> None:
        """For a transport: the cookies of the engine's jar that the engine would send with
        ``request``, added to its Cookie header (those the client sends itself are there)."""
        target = _Target(request._url)
        now = time.time()
        jar = [
            c for c in parse_netscape(self._engine.cookies_export())
            if target.matches(c) and (c.expires is None or c.expires > now)
        ]
        if not jar:
            return
        headers = request.headers
        own = headers.get("cookie")
        present = {part.split("=", 1)[0].strip() for part in own.split(";")} if own else set()
        extra = [_pair(c) for c in jar if c.name not in present]
        if extra:
            headers["Cookie"] = "; ".join(([own] if own else []) + extra)

    def _store_cookies(self, response: Response) -> None:
        """For a transport: the response's Set-Cookie headers into the engine's jar, which
        keeps what its rules let the response's URL set."""
        values = response.headers.get_list("set-cookie")
        if not values:
            return
        try:
            url = encode(str(response.url))
        except InvalidURL:
            return
        for value in values:
            if "\0" in value:
                continue
            try:
                # expired=True: a refused line is ignored (not raised), as by a jar.
                self._engine.cookie_add(url, value.encode("utf-8"), expired=True)
            except (ValueError, HTTPError, InvalidURL):
                pass  # refused, as a jar ignores a cookie its rules refuse

    def _received(self, response: Any, request: Request) -> Response:
        """A transport's response: checked, tied to its request, its cookies kept, and its
        ``next_request`` set (None unless it is a redirect)."""
        if not isinstance(response, Response):
            raise TypeError(f"the transport returned {type(response).__name__}, not an httpring.Response")
        response.request = request
        response.default_encoding = self._default_encoding
        self._store_cookies(response)
        response.next_request = next_request(response)
        return response

    def _transport_credentials(self, request: Request, ov: Optional[Overrides]) -> Optional[_Credentials]:
        """The credentials the engine would apply to ``request``, for a transport, by the
        engine's precedence: none to a hop that left the origin, none over the request's
        own ``Authorization`` header (a client default of that name yields), then its
        ``auth=``, the user info in its URL, the client's (``NetRCAuth``: the entry the
        engine finds for the request's host)."""
        if request._cross_origin:
            return None
        own = request.headers.get("authorization")
        if own is not None:
            defaults = request._defaults
            if defaults is None or defaults.get("authorization") != own:
                return None
        if ov is not None and ov.auth is not None:
            return ov.auth
        url = request.url
        if url.userinfo:
            return BasicAuth(url.username, url.password)
        if ov is not None and ov.no_auth:
            return None
        creds = self._engine_auth
        if creds is not None and creds._kind == "netrc":
            value = self._engine.netrc_value(str(request.url))
            return None if value is None else _Found(value)
        return creds

    def _with_credentials(self, request: Request, ov: Optional[Overrides]) -> Optional[_Credentials]:
        """Puts the credentials' ``Authorization`` (Basic) on a request to a transport;
        returns them (a Digest answer comes after the challenge: ``_challenge_answer``)."""
        creds = self._transport_credentials(request, ov)
        if creds is not None:
            value = creds.header_value()
            if value is not None:
                request.headers["Authorization"] = value
        return creds

    @staticmethod
    def _challenge_answer(
        creds: Optional[_Credentials], request: Request, response: Response, stale_only: bool
    ) -> Optional[str]:
        """The ``Authorization`` answering a transport's ``401`` Digest challenge, as the
        engine answers it (once, and once more for a stale nonce), or None."""
        if creds is None or response.status_code != 401:
            return None
        for challenge in response.headers.get_list("www-authenticate"):
            answer = creds.answer(request, challenge, stale_only)
            if answer is not None:
                return answer
        return None

    def _follows_on(self, response: Response, transport: Any, ov: Optional[Overrides]) -> bool:
        """Whether the client follows the redirect a transport answered with: around a
        transport the client follows redirects itself, as httpx does (the engine follows
        those of the requests it sends)."""
        return transport is not None and response.next_request is not None and self._follows(ov)

    def _engine_stopped_at_mount(self, response: Response, ov: Optional[Overrides]) -> bool:
        """Whether the engine, following a chain, stopped at a hop into a mounted origin
        (``Mounts.redirect_stops``): then the client follows on from there hop by hop, as
        around a transport, and this sets the response's ``next_request`` for it."""
        if (self._transport.__class__ is not Mounts or response.status_code not in REDIRECT_STATUSES
                or not self._follows(ov)):
            return False
        try:
            nxt = next_request(response, allow_insecure=False)
        except Exception:  # the engine took this Location already: not expected
            return False
        if nxt is None or self._transport.route(str(nxt.url)) is None:
            return False
        response.next_request = nxt
        return True

    def _hop_overrides(self, ov: Optional[Overrides], request: Request) -> Overrides:
        """``ov`` for one hop (``request``) of a chain the client follows: each hop is sent
        on its own; one that left the origin without any credentials (the request's
        ``auth=`` too)."""
        hop = Overrides(False, self._engine_max, None) if ov is None else ov._replace(follow=False)
        if request._cross_origin:
            hop = hop._replace(auth=None, no_auth=True)
        return hop

    def _redirect_hop(
        self, response: Response, history: List[Response], ov: Optional[Overrides], own: "_Own"
    ) -> Request:
        """The next hop of a chain the client follows: ``response`` (read and closed) goes
        to ``history``, and its ``next_request`` is returned, built by the engine's rules
        (``next_request``); past the limit, TooManyRedirects. What the client added to the
        last hop is taken out of a same-origin one, which gets its own as the engine's hops
        do: the jar's cookies as they are now, the credentials (Basic again; a Digest
        challenge answered again); the caller's own Cookie and Authorization stay until the
        chain leaves the origin. User info in the Location gives the hop Basic credentials
        (it wins, as in the engine)."""
        nxt = next_request(response, allow_insecure=False)  # the engine refuses https to http
        assert nxt is not None
        limit = self._engine_max if ov is None else ov.max_redirects
        if len(history) >= limit:
            raise TooManyRedirects("Exceeded maximum allowed redirects.", request=nxt)
        response.next_request = None  # followed, as httpx leaves it
        history.append(response)
        for name, value in (("cookie", own.cookie), ("authorization", own.authorization)):
            if nxt._cross_origin:
                value = None  # a chain that left the origin carries none of them again
            if name in nxt.headers:  # a same-origin hop keeps it
                if value is None:
                    del nxt.headers[name]
                else:
                    nxt.headers[name] = value
        url = nxt.url
        if url.userinfo:
            # User info in the Location is meant for the next hop: it wins, as in the engine.
            value = BasicAuth(url.username, url.password).header_value()
            if value is not None:
                nxt.headers["Authorization"] = value
        elif nxt._cross_origin and "authorization" not in nxt.headers and self._netrc_on(ov):
            # A new host gets its own .netrc entry, never the last one's (as in the engine).
            value = self._engine.netrc_value(str(url))
            if value is not None:
                nxt.headers["Authorization"] = value
        return nxt

    def _netrc_on(self, ov: Optional[Overrides]) -> bool:
        """The client's ``NetRCAuth`` applies to a request with ``ov`` (not ``auth=None``)."""
        creds = self._engine_auth
        return creds is not None and creds._kind == "netrc" and not (ov is not None and ov.no_auth)

    def _own_headers(self, request: Request) -> "_Own":
        """The Cookie and Authorization of a request to a transport before the client adds
        the jar's cookies and the credentials to them."""
        headers = request.headers
        return _Own(headers.get("cookie"), headers.get("authorization"))

    # --- views of the settings ---
    @property
    def headers(self) -> Headers:
        """The default headers, sent with every request (a request's own header of the same
        name wins). Mutable, as in httpx: changes apply to the requests made after them.
        Those given to the constructor are the engine's (it sends them with every request);
        a change to one of them is sent as the request's own header, and removing one makes
        every later request leave it out (through the engine's per-request path)."""
        return self._headers

    @headers.setter
    def headers(self, headers: HeaderTypes) -> None:
        self._headers = self._headers.replaced(Headers(headers))
        self._sync_overrides()

    @property
    def cookies(self) -> Cookies:
        """The client's cookies: a live view of its jar (kept by the engine, which stores
        what responses set and sends what matches). ``set``/``delete``/``clear`` on it
        change the jar; assigning replaces its content."""
        return ClientCookies(self._jar)

    @cookies.setter
    def cookies(self, cookies: CookieTypes) -> None:
        new = Cookies(cookies)
        self._jar.clear()
        self._jar.seed(new)

    @property
    def follow_redirects(self) -> bool:
        """Whether requests follow redirects (the engine follows them). Assignable; the
        engine client keeps the value it was created with, so after a change every request
        goes through the engine's slower per-request path: prefer passing it to the
        constructor."""
        return self._follow

    @follow_redirects.setter
    def follow_redirects(self, value: bool) -> None:
        self._follow = bool(value)
        self._sync_overrides()

    @property
    def max_redirects(self) -> int:
        """The most redirects followed for one request; more raise TooManyRedirects (as in
        httpx). Assignable, with the cost ``follow_redirects`` describes."""
        return self._max

    @max_redirects.setter
    def max_redirects(self, value: int) -> None:
        self._max = _check_max_redirects(value)
        self._sync_overrides()

    @property
    def auth(self) -> Optional[Auth]:
        """The client's auth (``auth=``), as httpx: may be reassigned."""
        return self._auth

    @auth.setter
    def auth(self, value: AuthTypes) -> None:
        self._auth = to_auth(value)
        self._sync_overrides()

    def _sync_overrides(self) -> None:
        """The settings every request takes when it names none of its own: None (the fast
        calls) while they are the engine client's."""
        self._sent_headers = self._headers.snapshot
        self._default_overrides = None  # _overrides below answers from it otherwise
        self._default_overrides = self._overrides(self._follow, self._auth)

    def _auth_settings(self, auth: Optional[Auth]) -> Tuple[Optional[_Credentials], bool, Optional[Auth]]:
        """A request's ``auth`` as (credentials for the engine to use instead of the client's,
        leave the client's out, a custom flow to run here)."""
        configured = self._engine_auth
        if auth is None:
            return None, configured is not None, None
        if not isinstance(auth, _Credentials):
            return None, configured is not None, auth
        if auth == configured:
            return None, False, None  # the client's own: the engine adds them anyway
        if auth._kind == "netrc":
            raise NotImplementedError("NetRCAuth goes to the client (auth= of Client/AsyncClient), not to a request")
        return auth, False, None

    def _overrides(self, follow_redirects: Any, auth: Any = USE_CLIENT_DEFAULT) -> Optional[Overrides]:
        """The settings a request cannot take through the fast calls, or None (the common
        case: the client's own)."""
        if follow_redirects is USE_CLIENT_DEFAULT and auth is USE_CLIENT_DEFAULT:
            return self._default_overrides
        follow = self._follow if follow_redirects is USE_CLIENT_DEFAULT else bool(follow_redirects)
        own, no_auth, flow = self._auth_settings(self._auth if auth is USE_CLIENT_DEFAULT else to_auth(auth))
        removed = self._headers.removed
        if (
            own is None
            and not no_auth
            and flow is None
            and follow == self._engine_follow
            and self._max == self._engine_max
            and not removed
        ):
            return None
        return Overrides(follow, self._max, own, no_auth, removed, flow)

    def _request_overrides(self, ov: Optional[Overrides], request: Any) -> Optional[Overrides]:
        """``ov`` for sending ``request`` (``send``, ``send_many``, event hooks): a Request
        the client built leaves out the default headers missing from its headers (as it
        was built, or as they were changed since), not those the client leaves out now.
        A redirect's next request to another origin (``Response.next_request``) leaves out
        the client's credentials: its default Authorization, Cookie and
        Proxy-Authorization, and its ``auth=`` (``httpring_request_set_no_auth``), as the
        engine does on the redirects it follows."""
        if not isinstance(request, Request):
            return ov
        withhold = request._withheld()
        cross = request._cross_origin
        if withhold is None:
            if not cross:
                return ov
            withhold = () if ov is None else ov.withhold  # the client's
        if cross:
            withhold += tuple(n for n in CREDENTIAL_HEADERS if n not in withhold)
        if ov is None:
            if not withhold:
                return None
            return Overrides(self._engine_follow, self._engine_max, None, cross, withhold)
        if withhold == ov.withhold and (ov.no_auth or not cross):
            return ov
        return ov._replace(withhold=withhold, no_auth=ov.no_auth or cross)

    def _follows(self, ov: Optional[Overrides]) -> bool:
        """Whether a request with ``ov`` may follow redirects (its history is read)."""
        return self._engine_follow if ov is None else ov.follow

    @property
    def timeout(self) -> Any:
        return self._timeout

    @property
    def retries(self) -> Optional[Retry]:
        """The client's retry policy (``retries=``), or None: no retries. Fixed when the
        client is created (the engine holds it); ``retries=`` on a request sets that
        request's count."""
        return self._retries

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: Any) -> None:
        self._base_url = to_str(value)
        self._url_cache.clear()
        self._get_cache.clear()

    @property
    def params(self) -> QueryParams:
        """The query parameters added to every request's URL, as httpx: may be reassigned."""
        return QueryParams(self._params)

    @params.setter
    def params(self, value: QueryParamTypes) -> None:
        self._params = str(QueryParams(value))
        self._url_cache.clear()
        self._get_cache.clear()

    @property
    def trust_env(self) -> bool:
        """Whether the environment's proxy and CA settings apply (``trust_env=``)."""
        return self._trust_env

    @property
    def is_closed(self) -> bool:
        return self._engine.closed

    def live_handles(self) -> int:
        """Engine handles not yet freed (0 whenever no request is in flight)."""
        return self._engine.live_handles()

    def stats(self) -> Stats:
        """The engine's counters: live handles, pooled connections, connections opened,
        DNS lookups."""
        return self._engine.stats()

    # --- encoding ---
    def _scratch(self) -> Scratch:
        try:
            return self._tls.scratch  # type: ignore[no-any-return]
        except AttributeError:
            s = self._tls.scratch = Scratch()
            return s

    def _url(self, url: Any, params: QueryParamTypes) -> Tuple[str, bytes]:
        if params is None and not self._params and url.__class__ is str:
            hit = self._url_cache.get(url)
            if hit is not None:
                return hit
            joined = join_base(self._base_url, url)
            hit = (joined, encode(joined))
            if len(self._url_cache) >= _URL_CACHE_SIZE:
                self._url_cache.clear()
            self._url_cache[url] = hit
            return hit
        joined = join_base(self._base_url, to_str(url))
        query = self._params
        extra = encode_params(params)
        if extra:
            # The request's params replace the client's of the same name, as in httpx.
            query = str(QueryParams(query).merge(QueryParams(extra))) if query else extra
        joined = add_query(joined, query)
        return joined, encode(joined)

    def _prepare(
        self,
        method: str,
        url: Any,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        content: Any = None,
        data: Any = None,
        json: Any = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        cookies: CookieTypes = None,
        files: Any = None,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Tuple[Prepared, str, str]:
        method_b = _METHODS.get(method)
        if method_b is None:
            method = method.upper()
            method_b = method.encode("ascii")
            if b"\0" in method_b:  # it would cut the C string short
                raise LocalProtocolError(f"invalid HTTP method {method!r}", code=_ffi.HTTPRING_ERR_INVALID_METHOD)
        url_s, url_b = self._url(url, params)
        pairs = encode_headers(headers) if headers else None
        changed = self._headers.changed
        if changed is not None:
            pairs = _with_defaults(pairs, changed)
        if cookies is not None or self._jar.anywhere:
            default = self._default_cookie if b"cookie" not in self._headers.removed else b""
            pairs = _with_cookies(pairs, self._jar.header(url_s, cookies), default)
        if files and content is None:
            # The engine encodes the form and sets its Content-Type (see _multipart).
            body: bytes = encode_multipart(data, files)
        elif content is None and data is None and json is None:
            body = b""
        else:
            body, ctype = encode_body(content, data, json, True)
            if ctype is not None and not has_header(pairs, b"content-type"):
                pairs = (pairs or ()) + ((b"content-type", ctype),)
        tmo = None if timeout is USE_CLIENT_DEFAULT else prepare_timeout(timeout, self._timeout)
        prep: Prepared = (method_b, url_b, pairs, body, tmo)
        if retries is not None:
            # Its own count: in the request's batch entry, or through the builder.
            prep = with_retries(prep, retries)
        if extensions:
            prep = with_speeds(prep, extensions)
        return prep, method, url_s

    def _get_prepared(self, url: Any) -> Tuple[Prepared, str, Any]:
        """A plain GET of ``url``, prepared once per str URL (a per-client cache): (prepared,
        URL string, a token)."""
        if url.__class__ is not str:
            prep, _, url_s = self._prepare("GET", url)
            return prep, url_s, None
        hit = self._get_cache.get(url)
        state = self._jar.state
        changed = self._headers.changed
        if hit is None or hit[2][0] is not state or hit[2][1] is not changed:
            prep, _, url_s = self._prepare("GET", url)
            if len(self._get_cache) >= _URL_CACHE_SIZE:
                self._get_cache.clear()
            # Both read before _prepare: if either changed since, the entry is stale at once.
            hit = self._get_cache[url] = (prep, url_s, (state, changed))
        return hit

    def build_request(
        self,
        method: str,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        content: Any = None,
        data: Any = None,
        json: Any = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        cookies: CookieTypes = None,
        files: Any = None,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Request:
        """A Request, as ``httpx.Client.build_request``; ``retries=`` (httpring's): this
        request's most retries, over the client's policy (``send`` keeps it).
        ``extensions``: the Request's, as in httpx; httpring reads its ``max_recv_speed``,
        ``max_send_speed`` and ``low_speed_limit`` (this request's speed limits, over the
        client's: see ``_engine.with_speeds``)."""
        prep, method, url_s = self._prepare(
            method, url, params, headers, content, data, json, timeout, cookies, files, retries, extensions
        )
        return self._request_of(prep, method, url_s, extensions)

    def _prepare_stream(
        self,
        method: str,
        url: Any,
        params: QueryParamTypes,
        headers: HeaderTypes,
        content: Any,
        data: Any,
        files: Any,
        json: Any,
        cookies: CookieTypes,
        timeout: Any,
        follow_redirects: Any,
        auth: Any,
        retries: Optional[int],
        extensions: Optional[Dict[str, Any]],
    ) -> Tuple[Prepared, str, str, Optional[Overrides], Optional[Request]]:
        """``stream()``'s request, from its arguments in order: (prepared, method, url,
        overrides, and the Request to send through the hooks, a transport or an auth flow,
        or None when it goes to the engine directly)."""
        if (method == "GET" and params is None and headers is None and content is None and data is None
                and files is None and json is None and cookies is None and timeout is USE_CLIENT_DEFAULT
                and retries is None and extensions is None):
            prep, url_s, _ = self._get_prepared(url)  # get()'s cache of plain GETs
        else:
            prep, method, url_s = self._prepare(
                method, url, params, headers, content, data, json, timeout, cookies, files, retries, extensions
            )
        ov = self._overrides(follow_redirects, auth)
        if self._transport is not None or self._request_hooks or self._response_hooks or (
            ov is not None and ov.flow is not None
        ):
            return prep, method, url_s, ov, self._request_of(prep, method, url_s, extensions)
        return prep, method, url_s, ov, None

    def _request_of(self, prep: Prepared, method: str, url: str, extensions: Optional[Dict[str, Any]]) -> Request:
        """The Request of a prepared one, with its ``extensions`` (whose speed limits
        ``_from_request`` reads again when it is sent: a hook or the caller may change them)."""
        request = request_from(prep, method, url, self._headers)
        if extensions:
            request.extensions = dict(extensions)
        return request

    def _from_request(self, request: Any) -> Tuple[Prepared, str, str]:
        """send()/send_many() items: a Request, a URL (GET), or a (method, url) tuple."""
        if isinstance(request, Request):
            content = request._content
            if content.__class__ is not bytes and content.__class__ is not Form and content.__class__ is not Upload:
                # The engine is handed exact bytes objects (or a multipart Form, or an
                # Upload: a body sent as it is read).
                content = bytes(content)
            pairs = request._pairs if request._headers is None else request._wire_pairs()
            tmo = request._timeout
            if tmo is not None and tmo[5] is not None:
                tmo = tmo[:5] + (None,) + tmo[6:]  # a Request's speed limits are those of its extensions now
            prep: Prepared = (request._method_b, request._url_b, pairs, content, tmo)
            if request.extensions:
                prep = with_speeds(prep, request.extensions)
            return prep, request._method, request._url
        if isinstance(request, tuple):
            try:
                method, url = request
            except ValueError:
                raise TypeError(
                    f"a request is a Request, a URL or a (method, url) tuple, not {request!r}"
                ) from None
            return self._prepare(method, url)
        prep, url_s, _ = self._get_prepared(request)
        return prep, "GET", url_s


class _ClientHeaders(Headers):
    """``client.headers``. The engine client was created with the headers first given
    (``engine``, by lower-case name) and sends them with every request; it cannot change
    them. So each change here recomputes ``changed``: the header pairs, for every name
    whose values now differ from the engine's, that each request then carries as its own
    (which replace the engine's values of that name); and ``removed``: the engine's names
    no longer here, which each request asks the engine to leave out."""

    __slots__ = ("engine", "own", "changed", "removed", "snapshot", "on_change")

    def __init__(
        self,
        headers: HeaderTypes = None,
        engine: Optional[Dict[str, List[str]]] = None,
        own: Tuple[Tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(headers)
        if engine is None:
            engine = {}
            for lk, _, v in self._list:
                engine.setdefault(lk, []).append(v)
        self.engine: Dict[str, List[str]] = engine
        #: The engine's own defaults (User-Agent, Accept-Encoding) of names the constructor
        #: was not given: an assignment starts from them, as httpx's starts from its own.
        self.own = own
        #: None while every name has the engine's values (the common case: nothing to add).
        self.changed: HeaderPairs = None
        #: The engine's names removed since (lower-case bytes); () in the common case.
        self.removed: Tuple[bytes, ...] = ()
        #: Called (a weak method of the client) after each change.
        self.on_change: Optional[Callable[[], Optional[Callable[[], None]]]] = None
        self._update()

    def replaced(self, headers: Headers) -> "_ClientHeaders":
        """The client's headers after ``client.headers = headers``: the engine's own
        defaults, updated with ``headers``."""
        given = {lk for lk, _, _ in headers._list}
        start = Headers([item for item in self.own if item[0] not in given])
        start._list += headers._list
        new = _ClientHeaders(start, self.engine, self.own)
        new.on_change = self.on_change
        return new

    def add_engine_defaults(self, pairs: List[Tuple[str, str]]) -> None:
        """Lists the engine client's headers of names it was not given (``pairs``: all it
        sends with every request, names lower-case) first, as httpx lists its defaults."""
        extra = [(name, name, value) for name, value in pairs if name not in self.engine]
        if not extra:
            return
        for lk, _, value in extra:
            self.engine.setdefault(lk, []).append(value)
        self.own = tuple((name, value) for _, name, value in extra)
        self._list = extra + self._list
        self._update()

    def _update(self) -> None:
        now: Dict[str, List[Tuple[str, str]]] = {}
        for lk, name, value in self._list:
            now.setdefault(lk, []).append((name, value))
        changed = [
            item
            for lk, items in now.items()
            if [v for _, v in items] != self.engine.get(lk)
            for item in items
        ]
        self.changed = encode_headers(changed) if changed else None
        self.removed = tuple(lk.encode("utf-8") for lk in self.engine if lk not in now)
        #: A copy, for requests sent before the next change.
        self.snapshot = _Defaults(self, self.engine, self.removed)
        ref = self.on_change
        sync = ref() if ref is not None else None
        if sync is not None:
            sync()

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self._update()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._update()

    def add(self, key: str, value: str) -> None:
        super().add(key, value)
        self._update()

    def clear(self) -> None:
        self._list = []
        self._update()


def _with_defaults(pairs: HeaderPairs, changed: Tuple[Tuple[bytes, bytes], ...]) -> HeaderPairs:
    """The request's headers, then the client's changed defaults it does not override."""
    if not pairs:
        return changed
    own = {name.lower() for name, _ in pairs}
    extra = tuple(p for p in changed if p[0].lower() not in own)
    return pairs + extra if extra else pairs


def _with_cookies(pairs: HeaderPairs, value: str, default: bytes) -> HeaderPairs:
    """The request's headers with ``value`` added to its Cookie header, after the request's
    own, or else after the client's ``default`` one (which the request's replaces)."""
    if not value:
        return pairs
    extra = value.encode("utf-8")
    if pairs:
        for i, (name, old) in enumerate(pairs):
            if name.lower() == b"cookie":
                merged = old + b"; " + extra if old else extra
                return pairs[:i] + ((name, merged),) + pairs[i + 1 :]
    return (pairs or ()) + ((b"cookie", default + b"; " + extra if default else extra),)


def _check_max_redirects(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise ValueError(f"max_redirects must be an int from 0 to 2**32-1, got {value!r}")
    return value


def yielded_request(item: Any) -> Request:
    """What a custom auth flow yielded: a Request, or a TypeError."""
    if not isinstance(item, Request):
        raise TypeError(f"an auth flow must yield httpring.Request objects, not {type(item).__name__}")
    return item


def _bind(response: Response, request: Request, prep: Prepared) -> None:
    """Makes ``request`` the response's ``request``, unless the engine followed redirects:
    then the last hop's (its method and URL, the caller's headers)."""
    if response._history:
        response._sent = (prep, request._defaults)
    else:
        response._request = request


def _tie(error: HTTPError, request: Request, engine: bool) -> None:
    """A failed request's error carries the Request the hooks and the transport saw (the
    engine's carry a bare one; a transport's may carry none)."""
    if engine or error._request is None:
        error.request = request


class _Own(NamedTuple):
    """A request's own Cookie and Authorization headers (None: none), before the client
    added to them for a transport (``BaseClient._own_headers``)."""

    cookie: Optional[str]
    authorization: Optional[str]
