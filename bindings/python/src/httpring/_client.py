"""The blocking client: ``Client`` (httpx-shaped) and the handle-level API (``submit`` ->
``Handle``, ``fileno``, ``drain``).

A request is submitted, then waited for in ``httpring_handle_wait`` with the GIL released,
in slices of a quarter second so Ctrl-C is still seen. ``send_many`` submits a whole batch,
then collects it from the client's completion queue (``httpring_client_drain``) as
responses arrive. ``stream()`` waits for the head the same way, then hands the handle to
the Response's body (``_stream.SyncBody``).
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set, Tuple, Union

from . import _ffi
from ._auth import _Credentials
from ._base_client import BaseClient, _bind, _Own, _tie, yielded_request
from ._config import USE_CLIENT_DEFAULT
from ._engine import COMPLETION_LAYOUT, Engine, Overrides, Prepared, Scratch, SpecBatch, built_only, with_retries
from ._exceptions import ClientClosed, InvalidHandle, RequestError, from_code
from ._cookies import CookieTypes
from ._models import (
    INFO_LAYOUT,
    HeaderTypes,
    QueryParamTypes,
    Request,
    Response,
    attach_body,
    info_attempts,
)
from ._stream import StreamContext, SyncBody
from ._upload import Upload, write_all
from ._transports import Mounts

if TYPE_CHECKING:  # what HeaderTypes and CookieTypes name, for tools that resolve them (pdoc)
    from ._cookies import Cookies
    from ._models import Headers

_WAIT_SLICE_MS = 250
_DRAIN_BATCH = 256
# user_data values with this bit belong to send_many; 0 to plain requests; the rest to
# the caller (Client.submit(user_data=...)).
_BATCH_BIT = 1 << 63


class Completion(NamedTuple):
    """One finished request, as returned by ``Client.drain()``."""

    handle: Optional["Handle"]
    user_data: int
    code: int
    status: int

    @property
    def ok(self) -> bool:
        return self.code == _ffi.HTTPRING_OK


class Handle:
    """A submitted request (``Client.submit``). Owns its engine handle: ``response()``
    copies the result out and frees it; ``close()`` (or the context manager, or garbage
    collection as a last resort) frees it too, cancelling the request if it is pending.

    ``progress()`` and ``attempts`` read the engine's live figures (``httpring_handle_info``)
    while the request runs, and the final ones after ``response()``; the Response it returns
    always has ``extensions["timing"]``."""

    __slots__ = ("_engine", "_h", "method", "url", "user_data", "_result", "_final", "_finalizer", "__weakref__")

    def __init__(self, engine: Engine, h: int, method: str, url: str, user_data: int) -> None:
        self._engine = engine
        self._h = h
        self.method = method
        self.url = url
        self.user_data = user_data
        self._result: Any = None
        #: The raw httpring_info read by response() before the handle was freed.
        self._final: Optional[bytes] = None
        self._finalizer = weakref.finalize(self, _free_handle, engine, h)

    @property
    def id(self) -> int:
        """The engine's handle value (0 once freed)."""
        return self._h if self._finalizer.alive else 0

    def _live(self) -> int:
        if not self._finalizer.alive:
            raise InvalidHandle("the handle was freed", code=_ffi.HTTPRING_ERR_INVALID_HANDLE)
        self._engine.check_open()
        return self._h

    def poll(self) -> bool:
        """True once the request has completed (a response or a failure)."""
        if self._result is not None:
            return True
        state = _ffi.httpring_state()
        code = self._engine.lib.httpring_handle_poll(self._engine.ptr, self._live(), state)
        if code:
            raise from_code(code)
        return state.value != _ffi.HTTPRING_STATE_PENDING

    @property
    def state(self) -> str:
        """The request's state: "pending", "done" or "failed"."""
        if self._result is not None:
            return "done" if isinstance(self._result, Response) else "failed"
        state = _ffi.httpring_state()
        code = self._engine.lib.httpring_handle_poll(self._engine.ptr, self._live(), state)
        if code:
            raise from_code(code)
        return ("pending", "done", "failed")[state.value]

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks (GIL released) until the request completes or ``timeout`` seconds pass;
        returns whether it completed."""
        if self._result is not None:
            return True
        engine = self._engine
        h = self._live()
        return _wait(engine, h, timeout)

    def _info(self) -> bytes:
        """The request's raw ``httpring_info``: live, or as ``response()`` last read it."""
        if self._final is not None:
            return self._final
        info = self._engine.info(self._live(), _ffi.new(_ffi.httpring_info))
        if info is None:  # pragma: no cover - a live handle always has one
            raise InvalidHandle("the engine has no info for this handle", code=_ffi.HTTPRING_ERR_INVALID_HANDLE)
        return info

    def progress(self) -> Tuple[int, Optional[int]]:
        """(bytes received, content length or None while unknown): the response body's
        bytes as they arrive (before any decoding; counting restarts on each attempt and
        redirect hop), and the length the response announced. Safe from any thread, as
        often as wanted."""
        _, received, length = INFO_LAYOUT.unpack_from(self._info())[:3]
        return received, (None if length < 0 else length)

    @property
    def attempts(self) -> int:
        """Attempts made so far: 1, or more when the engine retried (``retries=``)."""
        return info_attempts(self._info())

    def cancel(self) -> None:
        """Aborts the request if still pending; ``response()`` then raises RequestCancelled."""
        if self._result is None and self._finalizer.alive:
            self._engine.cancel(self._live())

    def response(self, timeout: Optional[float] = None) -> Response:
        """Waits for the request, then returns its Response or raises its error. The
        engine handle is freed here; later calls return (or raise) the same result."""
        if self._result is None:
            h = self._live()
            if not _wait(self._engine, h, timeout):
                from ._exceptions import TimeoutException

                raise TimeoutException(f"Handle.response: still pending after {timeout} s")
            engine = self._engine
            s = Scratch()
            result = engine.read(h, self.method, s, self.url, engine.redirects)
            # The final figures, kept for progress() and attempts once the handle is freed
            # (already read for the Response when the client records timing).
            self._final = getattr(result, "_info", None) or engine.info(h, s.info)
            if result.__class__ is Response:
                result._info = self._final
                result._next_request = None  # the request's headers and body are not kept
            self._result = result
            self.close()
        if isinstance(self._result, Response):
            return self._result
        raise self._result

    def close(self) -> None:
        """Frees the engine handle (cancelling a pending request). Idempotent."""
        self._finalizer()

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Handle {self.method} {self.url} id={self.id}>"


def _free_handle(engine: Engine, h: int) -> None:
    if not engine.closed:
        engine.free(h)


def _check_sync(body: Upload) -> None:
    if body.is_async:
        raise TypeError(
            "content= is an async iterator: only AsyncClient sends one (give Client an "
            "iterator of bytes)"
        )


def _upload(engine: Engine, h: int, body: Upload) -> None:
    """Writes the body of request ``h`` from its iterator (``_upload.write_all``). If the
    iterator raises (or Ctrl-C), the request is cancelled, and that is raised."""
    try:
        write_all(engine, h, body)
    except BaseException:
        if not engine.closed:
            engine.cancel(h)
        raise


def _wait(engine: Engine, h: int, timeout: Optional[float]) -> bool:
    wait = engine.lib.httpring_handle_wait
    if timeout is None:
        while True:
            code = wait(engine.ptr, h, _WAIT_SLICE_MS, None)
            if code != _ffi.HTTPRING_PENDING:
                break
    else:
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = max(0, min(_WAIT_SLICE_MS, int((deadline - time.monotonic()) * 1000)))
            code = wait(engine.ptr, h, left, None)
            if code != _ffi.HTTPRING_PENDING or left == 0:
                break
    if code == _ffi.HTTPRING_PENDING:
        return False
    if code:
        if code == _ffi.HTTPRING_ERR_CLIENT_CLOSED:
            engine.check_open()
        raise from_code(code)
    return True


def _whole(item: Tuple[Prepared, str, str]) -> Tuple[Prepared, str, str]:
    """A prepared request with an ``Upload`` body read whole (send_many, submit: no one
    writes their bodies as they go)."""
    prep, method, url = item
    body = prep[3]
    if body.__class__ is not Upload:
        return item
    assert isinstance(body, Upload)
    return (prep[0], prep[1], prep[2], body.read(), prep[4]), method, url


class _PumpState:
    """Completion routing for send_many and drain (see ``_pump``), in one attribute of the
    client: CPython 3.11 keeps an instance's attributes in its shared, specialised layout
    only up to 30, and the client's hot path reads the others."""

    __slots__ = ("cv", "pumping", "mailbox", "user_completions", "handles", "batch_seq")

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.pumping = False
        self.mailbox: Dict[int, Tuple[int, int, int]] = {}
        self.user_completions: List[Tuple[int, int, int, int]] = []
        self.handles: "weakref.WeakValueDictionary[int, Handle]" = weakref.WeakValueDictionary()
        self.batch_seq = 0


class Client(BaseClient):
    """A blocking HTTP client over one engine client (its own runtime thread and pool).

    Safe to share between threads. Close it (``close()`` or ``with``) to stop the runtime.
    """

    def _setup(self) -> None:
        transport = self._transport
        if transport.__class__ is Mounts:
            transport = transport.default
        if transport is not None and not callable(getattr(transport, "handle_request", None)):
            self._engine.close()
            raise TypeError(
                f"Client(transport=...) needs a transport with handle_request() (an httpring.BaseTransport), "
                f"not {type(transport).__name__}"
            )
        self._transport_closed = False
        self._mount("handle_request")
        # Garbage collection may run it on a thread that is reading a response: close_soon
        # never waits there for the lock that read holds.
        self._finalizer = weakref.finalize(self, self._engine.close_soon)
        # Completion routing for send_many and drain (see _pump).
        self._pump_state = _PumpState()

    # --- lifecycle ---
    def close(self) -> None:
        """Stops the runtime and closes every connection. Pending requests fail."""
        self._finalizer.detach()
        self._engine.close()
        if not self._transport_closed:
            self._transport_closed = True
            for transport in self._transports():
                transport.close()

    def __enter__(self) -> "Client":
        self._engine.check_open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- requests ---
    def request(
        self,
        method: str,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        prep, method, url_s = self._prepare(
            method, url, params, headers, content, data, json, timeout, cookies, files, retries, extensions
        )
        if follow_redirects is USE_CLIENT_DEFAULT and auth is USE_CLIENT_DEFAULT:
            ov = self._default_overrides
        else:
            ov = self._overrides(follow_redirects, auth)
        if self._transport is not None or self._request_hooks or self._response_hooks or (
            ov is not None and ov.flow is not None
        ):
            return self._send_hooked(self._request_of(prep, method, url_s, extensions), ov)
        return self._send_one(prep, method, url_s, ov)

    def get(
        self,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "GET", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    def head(
        self,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "HEAD", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    def options(
        self,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "OPTIONS", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    def delete(
        self,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "DELETE", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    def post(
        self,
        url: Any,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "POST", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=follow_redirects, auth=auth, cookies=cookies,
            retries=retries, extensions=extensions,
        )

    def put(
        self,
        url: Any,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "PUT", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=follow_redirects, auth=auth, cookies=cookies,
            retries=retries, extensions=extensions,
        )

    def patch(
        self,
        url: Any,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> Response:
        return self.request(
            "PATCH", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=follow_redirects, auth=auth, cookies=cookies,
            retries=retries, extensions=extensions,
        )

    def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
    ) -> Response:
        """Sends a Request (``build_request``), as httpx. ``retries``: this request's most
        retries (else the Request's own, from ``build_request(retries=)``, else the
        client's). ``stream=True``: returns once the head is in, the body unread (see
        ``stream()``); close the response."""
        ov = self._overrides(follow_redirects, auth)
        if self._transport is not None or self._request_hooks or self._response_hooks or (
            ov is not None and ov.flow is not None
        ):
            return self._send_hooked(self._as_request(request), ov, retries, stream)
        prep, method, url = self._from_request(request)
        prep = with_retries(prep, retries)
        ov = self._request_overrides(ov, request)
        if stream:
            response = self._open_stream(prep, method, url, ov)
        else:
            response = self._send_one(prep, method, url, ov)
        if isinstance(request, Request):
            _bind(response, request, prep)
        return response

    def _send_hooked(
        self, request: Request, ov: Optional[Overrides], retries: Optional[int] = None, stream: bool = False
    ) -> Response:
        """A request through the event hooks, then the transport or the engine; a custom
        auth flow (``ov.flow``) around it all."""
        if ov is not None and ov.flow is not None:
            return self._send_flow(request, ov, retries, stream)
        transport = self._transport_for(request._url)
        own = creds = None
        if transport is not None:
            self._engine.check_open()
            own = self._own_headers(request)
            self._add_jar_cookies(request)
            self._add_timeout_extension(request)
            creds = self._with_credentials(request, ov)
        for hook in self._request_hooks:
            hook(request)
        try:
            if transport is None:
                prep, method, url = self._from_request(request)
                prep = with_retries(prep, retries)
                ov = self._request_overrides(ov, request)
                if stream:
                    response = self._open_stream(prep, method, url, ov)
                else:
                    response = self._send_one(prep, method, url, ov)
                _bind(response, request, prep)
                if self._engine_stopped_at_mount(response, ov):
                    own = self._own_headers(request)  # as the engine was given them
            else:
                request.read()  # a body given as an iterator, read whole (as httpx's MockTransport)
                response = self._transport_send(transport, request, creds)
                if not stream:
                    response.read()  # a streamed answer (content= an iterator), read as httpx does
        except RequestError as e:
            _tie(e, request, transport is None)
            raise
        try:
            for hook in self._response_hooks:
                hook(response)
        except BaseException:
            response.close()  # a streamed response nobody will get to close
            raise
        if own is not None and (transport is None or self._follows_on(response, transport, ov)):
            return self._follow_redirects(response, ov, retries, stream, own)
        return response

    def _transport_send(self, transport: Any, request: Request, creds: Optional[_Credentials]) -> Response:
        """``request`` to ``transport``, and a ``401`` Digest challenge answered as the
        engine answers it (once, once more for a stale nonce; the 401 is not kept)."""
        response = self._received(transport.handle_request(request), request)
        for stale_only in (False, True):
            answer = self._challenge_answer(creds, request, response, stale_only)
            if answer is None:
                break
            try:
                response.read()
            finally:
                response.close()
            request.headers["Authorization"] = answer
            response = self._received(transport.handle_request(request), request)
        return response

    def _follow_redirects(
        self, response: Response, ov: Optional[Overrides], retries: Optional[int], stream: bool,
        own: _Own,
    ) -> Response:
        """Follows the redirects a transport answered with, as httpx follows them around
        any transport: each hop is a request of its own (event hooks, the jar's cookies,
        the transport its URL is mounted to, or the engine), built by the engine's rules."""
        # The hops the engine followed before it stopped at a mounted origin come first.
        history: List[Response] = list(response.history)
        while response.next_request is not None:
            try:
                response.read()
            finally:
                response.close()
            request = self._redirect_hop(response, history, ov, own)
            response = self._send_hooked(request, self._hop_overrides(ov, request), retries, stream)
        response.history = history + response.history
        return response

    def _send_flow(self, request: Request, ov: Overrides, retries: Optional[int], stream: bool) -> Response:
        """Runs ``ov.flow``, a custom auth flow, as httpx does: each request it yields is
        sent (hooks, engine or transport) and its response sent back to it; the last
        response is returned, the ones before it in its ``history``."""
        flow = ov.flow.sync_auth_flow(request)  # type: ignore[union-attr]
        ov = ov._replace(flow=None)
        history: List[Response] = []
        try:
            request = yielded_request(next(flow))
            while True:
                response = self._send_hooked(request, ov, retries, stream)
                try:
                    try:
                        next_request = flow.send(response)
                    except StopIteration:
                        if history:
                            response.history = history + response.history
                        return response
                    response.read()
                    response.close()
                    history.append(response)
                    request = yielded_request(next_request)
                except BaseException:
                    response.close()
                    raise
        finally:
            flow.close()

    # --- streaming ---
    def stream(
        self,
        method: str,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        cookies: CookieTypes = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
        retries: Optional[int] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> StreamContext:
        """A request whose body is read as it arrives, as httpx's ``client.stream()``: the
        block gets the Response once its head is in, and reads the body with
        ``iter_bytes()``, ``iter_text()``, ``iter_lines()``, ``iter_raw()`` or ``read()``.
        Leaving the block closes the response: a body not read to its end is stopped and
        its connection closed (HTTP/2: its stream reset). At most 256 KiB of the body wait unread: a reader that
        stops holds the server back. ``timeout``'s read timeout applies between pieces of
        the body; ``total`` only until the head. ``content=`` may be an iterator of bytes
        or a file, sent as it is read (see ``_upload``) before the head is awaited."""
        args = (
            method, url, params, headers, content, data, files, json, cookies, timeout,
            follow_redirects, auth, retries, extensions,
        )
        return StreamContext(self._stream_response, args)

    def _stream_response(self, args: Tuple[Any, ...]) -> Response:
        """``stream``'s request (its arguments in order), sent: its Response once the head
        is in."""
        prep, method, url, ov, request = self._prepare_stream(*args)
        if request is not None:
            return self._send_hooked(request, ov, None, True)
        return self._open_stream(prep, method, url, ov)

    def _open_stream(self, prep: Prepared, method: str, url: str, ov: Optional[Overrides]) -> Response:
        """Submits a streamed request, waits for its head, and returns the Response, which
        owns the handle from then on (``_stream.SyncBody``)."""
        engine = self._engine
        engine.check_open()
        s = self._scratch()
        body = prep[3]
        if body.__class__ is Upload:
            _check_sync(body)
        if ov is None:
            h = engine.submit(prep, 0, s, url, stream=True)
        else:
            h = engine.submit_request(prep, 0, s, url, ov, stream=True)
        try:
            if body.__class__ is Upload and body.writer:
                _upload(engine, h, body)
            _wait(engine, h, None)
            follow = self._follows(ov)
            result = engine.read(h, method, s, url, follow)
        except BaseException:
            if not engine.closed:
                engine.free(h)
            raise
        if result.__class__ is not Response:
            if not engine.closed:
                engine.free(h)
            raise result
        attach_body(result, SyncBody(engine, h, method, url, self._scratch, self._sweep))
        result._sent = (prep, self._sent_headers)
        if follow:
            result._next_request = None
        return result

    def _sweep(self) -> None:
        """Drains the queue (a streamed body's BODY completions, which nobody asks for,
        stay there while its handle lives), unless another thread is draining it."""
        with self._pump_state.cv:
            if self._pump_state.pumping or self._engine.closed:
                return
            self._pump_state.pumping = True
        try:
            self._pump(block=False)
        except ClientClosed:
            pass  # closed meanwhile: the reader's next read says so
        finally:
            with self._pump_state.cv:
                self._pump_state.pumping = False
                self._pump_state.cv.notify_all()

    def _send_one(self, prep: Prepared, method: str, url: str, ov: Optional[Overrides] = None) -> Response:
        engine = self._engine
        if engine.closed:
            engine.check_open()
        s = self._scratch()
        body = prep[3]
        if body.__class__ is Upload:
            _check_sync(body)
        if ov is None:
            h = engine.submit(prep, 0, s, url)
            history = engine.redirects
        else:
            h = engine.submit_request(prep, 0, s, url, ov)
            history = ov.follow
        try:
            if body.__class__ is Upload and body.writer:
                _upload(engine, h, body)
            _wait(engine, h, None)
            result = engine.read(h, method, s, url, history)
        finally:
            if not engine.closed:
                engine.free(h)
        if result.__class__ is Response:
            result._sent = (prep, self._sent_headers)
            if history:  # followed redirects: no next_request
                result._next_request = None
            return result
        raise result

    # --- batches ---
    def send_many(
        self,
        requests: Iterable[Union[Request, str, Tuple[str, Any]]],
        *,
        return_exceptions: bool = False,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
    ) -> List[Any]:
        """Submits every request at once, then collects the responses as they complete
        (from the drain queue). Returns them in the order given. Items are Requests
        (``build_request``), URLs (GET) or (method, url) tuples. With
        ``return_exceptions=True`` failures are returned in place instead of raised.

        With event hooks, every request hook runs (on every request) before anything is
        sent; a response hook that raises fails its request."""
        given = list(requests)
        ov = self._overrides(follow_redirects, auth)
        if ov is not None and ov.flow is not None:
            # A custom auth flow decides each request's next step: sent one at a time.
            self._engine.check_open()
            results: List[Any] = []
            for item in given:
                request = self._as_request(item)
                try:
                    results.append(self._send_hooked(request, self._request_overrides(ov, request)))
                except Exception as e:
                    if not return_exceptions:
                        raise
                    results.append(e)
            return results
        if self._transport is not None or self._request_hooks or self._response_hooks:
            return self._send_many_hooked(given, return_exceptions, follow_redirects, auth)
        return self._send_many(given, return_exceptions, follow_redirects, auth)

    def _send_many_hooked(
        self, given: List[Any], return_exceptions: bool, follow_redirects: Any, auth: Any
    ) -> List[Any]:
        self._engine.check_open()
        requests = [self._as_request(r) for r in given]
        # Each request's transport (None: the engine); with mounts they may differ.
        routes = [self._transport_for(r._url) for r in requests]
        owns: Dict[int, _Own] = {}
        creds: Dict[int, Optional[_Credentials]] = {}
        ov = self._overrides(follow_redirects, auth)
        for i, (request, transport) in enumerate(zip(requests, routes)):
            if transport is not None:
                owns[i] = self._own_headers(request)
                self._add_jar_cookies(request)
                creds[i] = self._with_credentials(request, ov)
        for request in requests:
            for hook in self._request_hooks:
                hook(request)
        results: List[Any] = [None] * len(requests)
        engine_side = [i for i, t in enumerate(routes) if t is None]
        if engine_side:
            # One batch for everything the engine sends.
            sent = self._send_many([requests[i] for i in engine_side], return_exceptions, follow_redirects, auth)
            for i, r in zip(engine_side, sent):
                results[i] = r
        hooked: Set[int] = set()  # followed here: their hops went through the hooks
        for i in engine_side:
            r = results[i]
            if r.__class__ is Response and self._engine_stopped_at_mount(r, ov):
                try:  # the engine stopped at a hop into a mount: on from there, one by one
                    for hook in self._response_hooks:
                        hook(r)
                    results[i] = self._follow_redirects(r, ov, None, False, self._own_headers(requests[i]))
                    hooked.add(i)
                except Exception as e:
                    if not return_exceptions:
                        raise
                    results[i] = e
        if len(engine_side) < len(requests):
            for i, (request, transport) in enumerate(zip(requests, routes)):
                if transport is None:
                    continue
                try:
                    request.read()
                    response = self._transport_send(transport, request, creds[i])
                    response.read()
                    if self._follows_on(response, transport, ov):
                        # Each hop through the hooks as it comes (the later ones inside).
                        for hook in self._response_hooks:
                            hook(response)
                        response = self._follow_redirects(response, ov, None, False, owns[i])
                        hooked.add(i)
                    results[i] = response
                except Exception as e:
                    if isinstance(e, RequestError):
                        _tie(e, request, False)
                    if not return_exceptions:
                        raise
                    results[i] = e
        for i, r in enumerate(results):
            if isinstance(r, Response) and i not in hooked:
                try:
                    for hook in self._response_hooks:
                        hook(r)
                except Exception as e:
                    if not return_exceptions:
                        raise
                    results[i] = e
        return results

    def _send_many(
        self, given: List[Any], return_exceptions: bool, follow_redirects: Any, auth: Any
    ) -> List[Any]:
        engine = self._engine
        engine.check_open()
        items = [self._from_request(r) for r in given]
        if any(it[0][3].__class__ is Upload for it in items):
            items = [_whole(it) for it in items]
        n = len(items)
        s = self._scratch()
        results: List[Any] = [None] * n
        # Request i's user_data is base + i: a batch's ids are one contiguous range, so
        # routing a completion is a range test and finding its request a subtraction.
        with self._pump_state.cv:
            seq = self._pump_state.batch_seq
            if seq + n >= _BATCH_BIT:
                seq = 0
            self._pump_state.batch_seq = seq + n
        base = _BATCH_BIT | seq
        handles: List[int] = []  # 0 once freed (or never submitted)
        first_error: Optional[BaseException] = None
        ov = self._overrides(follow_redirects, auth)
        ovs = [self._request_overrides(ov, r) for r in given]
        if any(o is not None for o in ovs) or any(built_only(it[0]) for it in items):
            # Settings or a body (streamed, multipart) the spec batch cannot carry: one built
            # request each.
            handles = [0] * n
            try:
                for i, (prep, _, url) in enumerate(items):
                    try:
                        handles[i] = engine.submit_request(prep, base + i, s, url, ovs[i])
                    except Exception as err:
                        results[i] = err
                        first_error = first_error or err
                        if not return_exceptions:
                            break
            except BaseException:
                self._abandon_batch(base, handles)
                raise
        elif items:
            # One httpring_client_send_many call: one wake-up of the I/O thread.
            batch = s.batch
            if batch is None:
                batch = s.batch = SpecBatch(engine, max(n, 16))
            code = batch.send(engine.ptr, [it[0] for it in items], range(base, base + n))
            handles = batch.handles[:n]
            if code:
                codes = batch.codes[:n]
                alone = sum(1 for c in codes if c) == 1  # the last error message is its own
                for i, c in enumerate(codes):
                    if c:
                        handles[i] = 0
                        prep, _, url = items[i]
                        results[i] = e = engine.submit_error(c, prep, url, alone)
                        first_error = first_error or e
        if first_error is not None and not return_exceptions:
            self._abandon_batch(base, handles)
            raise first_error
        follow = self._follows(ov)
        try:
            self._collect(base, handles, items, results, s, follow)
        except BaseException:
            # Interrupted: free what is still ours (the engine cancels pending ones).
            self._abandon_batch(base, handles)
            raise
        if not return_exceptions:
            for r in results:
                if isinstance(r, BaseException):
                    raise r
        for r, item, it in zip(results, given, items):
            if r.__class__ is Response:
                if isinstance(item, Request):
                    _bind(r, item, it[0])
                else:
                    r._sent = (it[0], self._sent_headers)
                if follow:
                    r._next_request = None
        return results

    def _abandon_batch(self, base: int, handles: List[int]) -> None:
        """Frees a batch's requests not yet collected and forgets their completions."""
        self._engine.free_many([h for h in handles if h])
        with self._pump_state.cv:
            for i, h in enumerate(handles):
                if h:
                    self._pump_state.mailbox.pop(base + i, None)

    def _collect(
        self,
        base: int,
        handles: List[int],
        items: List[Tuple[Prepared, str, str]],
        results: List[Any],
        s: Scratch,
        history: bool,
    ) -> None:
        """Reads the batch's responses as they complete into ``results``; frees each
        handle (zeroing it in ``handles``) once read."""
        engine = self._engine
        wanted = range(base, base + len(handles))
        remaining = sum(1 for h in handles if h)
        while remaining:
            mine: List[int] = []
            with self._pump_state.cv:
                mailbox = self._pump_state.mailbox
                if mailbox:
                    # Routed here by another thread's pump. Scan the smaller side.
                    if len(mailbox) < len(wanted):
                        mine = [uid for uid in mailbox if uid in wanted]
                    else:
                        mine = [uid for uid in wanted if uid in mailbox]
                    for uid in mine:
                        del mailbox[uid]
                pump = not mine and not self._pump_state.pumping
                if pump:
                    self._pump_state.pumping = True
                elif not mine:
                    # Another thread is draining; it wakes us when it has routed a batch.
                    self._pump_state.cv.wait(0.05)
                    continue
            if pump:
                # Our own completions come straight back; only others' go to the mailbox.
                try:
                    mine = self._pump(block=True, keep=wanted)
                finally:
                    with self._pump_state.cv:
                        self._pump_state.pumping = False
                        self._pump_state.cv.notify_all()
                if not mine:
                    continue
            remaining -= len(mine)
            where = [uid - base for uid in mine]
            done = [handles[i] for i in where]
            requests = [items[i][1:] for i in where]
            try:
                for i, r in zip(where, engine.read_many(done, requests, s, history)):
                    results[i] = r
            finally:
                engine.free_many(done)
                for i in where:
                    handles[i] = 0

    def _pump(self, block: bool, keep: Optional[range] = None) -> List[int]:
        """Drains the engine queue and routes each completion: batch ones in ``keep`` back
        to the caller (returned), other batch ones to the mailbox, the caller's
        (Client.submit) to the drain() backlog, plain requests' (user_data 0) nowhere:
        their owner reads them by handle. Streamed requests have user_data 0 too: their
        HEAD and BODY completions (``event``) go nowhere, their readers wait by handle."""
        engine = self._engine
        buf = _ffi.new_array(_ffi.httpring_completion, _DRAIN_BATCH)
        count = ctypes.c_size_t()
        mine: List[int] = []
        routed = []
        user = []
        # Blocking: the first call waits for completions, and this thread runs the engine's
        # I/O meanwhile (no wake-ups between threads); the rest take what else is queued.
        wait = block
        try:
            while True:
                if wait:
                    code = engine.lib.httpring_client_wait_drain(engine.ptr, buf, _DRAIN_BATCH, 1, _WAIT_SLICE_MS, count)
                    wait = False
                else:
                    code = engine.lib.httpring_client_drain(engine.ptr, buf, _DRAIN_BATCH, count)
                if code:
                    raise from_code(code)
                n = count.value
                for h, uid, code, status, _event in COMPLETION_LAYOUT.iter_unpack(memoryview(buf).cast("B")[: n * COMPLETION_LAYOUT.size]):
                    if uid & _BATCH_BIT:
                        if keep is not None and uid in keep:
                            mine.append(uid)
                        else:
                            routed.append((uid, (h, code, status)))
                    elif uid:
                        user.append((h, uid, code, status))
                if n < _DRAIN_BATCH:
                    break
        finally:
            # Drained completions belong to other threads too: publish them even if this
            # pump is interrupted (Ctrl-C), or their owners would wait forever.
            if routed or user:
                with self._pump_state.cv:
                    self._pump_state.mailbox.update(routed)
                    self._pump_state.user_completions.extend(user)
                    if routed:
                        self._pump_state.cv.notify_all()
        return mine

    # --- handle-level API ---
    def submit(
        self,
        method: str,
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        timeout: Any = USE_CLIENT_DEFAULT,
        cookies: CookieTypes = None,
        user_data: int = 0,
        retries: Optional[int] = None,
    ) -> Handle:
        """Starts a request and returns at once with its Handle. ``user_data`` (an int
        below 2**63) comes back in ``drain()``'s completions; ``retries``: this request's
        most retries, over the client's policy. With ``mounts=``, a redirect chain the
        engine follows stops at a hop into a mounted origin and the Handle's response is
        that redirect (the engine cannot send it to the mount: ``send()`` does)."""
        if not 0 <= user_data < _BATCH_BIT:
            raise ValueError("user_data must be an int in 0 .. 2**63-1")
        if self._transport is not None and self._transport.__class__ is not Mounts:
            raise NotImplementedError(
                "submit() hands the request to the engine: a client with transport= has none "
                "(use request()/send()/send_many())"
            )
        engine = self._engine
        engine.check_open()
        prep, method, url_s = self._prepare(
            method, url, params, headers, content, data, json, timeout, cookies, files, retries
        )
        if self._transport is not None and self._transport_for(url_s) is not None:
            raise NotImplementedError(
                f"submit() hands the request to the engine: {url_s} goes to a mounted transport "
                "(use request()/send()/send_many())"
            )
        if prep[3].__class__ is Upload:
            # Nobody would write it after submit() returns: read whole, sent as bytes.
            prep = _whole((prep, method, url_s))[0]
        removed = self._headers.removed
        if removed:
            # The client's settings otherwise, as every handle has them.
            ov = Overrides(self._engine_follow, self._engine_max, None, False, removed)
            h = engine.submit_request(prep, user_data, self._scratch(), url_s, ov)
        else:
            h = engine.submit(prep, user_data, self._scratch(), url_s)
        handle = Handle(engine, h, method, url_s, user_data)
        self._pump_state.handles[h] = handle
        return handle

    def fileno(self) -> int:
        """An fd that is readable while completions wait for ``drain()`` (level-triggered;
        never read or close it)."""
        return self._engine.fileno()

    def drain(self, max: int = _DRAIN_BATCH) -> List[Completion]:
        """Completed ``submit()`` requests since the last call (those with a user_data),
        as Completion(handle, user_data, code, status). Non-blocking."""
        self._engine.check_open()
        with self._pump_state.cv:
            if not self._pump_state.pumping:
                self._pump_state.pumping = True
                pump = True
            else:
                pump = False
        if pump:
            try:
                self._pump(block=False)
            finally:
                with self._pump_state.cv:
                    self._pump_state.pumping = False
                    self._pump_state.cv.notify_all()
        with self._pump_state.cv:
            taken = self._pump_state.user_completions[:max]
            del self._pump_state.user_completions[:max]
        return [Completion(self._pump_state.handles.get(h), uid, code, status) for h, uid, code, status in taken]

    def wait_any(self, handles: List[Handle], timeout: Optional[float] = None) -> Optional[int]:
        """Blocks until one of ``handles`` completes; returns its index (None on timeout)."""
        engine = self._engine
        ids = (ctypes.c_uint64 * len(handles))(*[h._live() for h in handles])
        index = ctypes.c_size_t()
        ms = -1 if timeout is None else int(timeout * 1000)
        code = engine.lib.httpring_handle_wait_any(engine.ptr, ids, len(handles), ms, index)
        if code == _ffi.HTTPRING_PENDING:
            return None
        if code:
            raise from_code(code)
        return index.value

    def wait_all(self, handles: List[Handle], timeout: Optional[float] = None) -> bool:
        """Blocks until every handle completes; returns False on timeout."""
        engine = self._engine
        ids = (ctypes.c_uint64 * len(handles))(*[h._live() for h in handles])
        ms = -1 if timeout is None else int(timeout * 1000)
        code = engine.lib.httpring_handle_wait_all(engine.ptr, ids, len(handles), ms)
        if code == _ffi.HTTPRING_PENDING:
            return False
        if code:
            raise from_code(code)
        return True
