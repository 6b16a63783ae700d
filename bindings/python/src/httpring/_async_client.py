"""The asyncio client.

One ``loop.add_reader`` per client watches the engine's completion fd. When it is
readable, completions are drained 256 at a time; each carries the ``user_data`` given at
submit, which keys the request's future. Responses are built right there (copied out of the
engine), the handles of the whole batch are freed in one call, and the futures resolved.
No thread per request, no polling: an idle client costs nothing.

Cancelling the task that awaits a request cancels the engine request
(``httpring_handle_cancel``, which closes its connection) and frees the handle.

A streamed request (``stream()``) completes with its head (``HTTPRING_EVENT_HEAD``): the
response is built from the head and its future resolved, and the handle goes to the
Response's body (``_stream.AsyncBody``), registered under its user_data. Its body's
``HTTPRING_EVENT_BODY`` completions come through the same fd and drain, and wake its
reader. A completion's event is one int test on the hot path: a request that is not
streamed only ever completes with ``HTTPRING_EVENT_DONE`` (0).

A request body given as an iterator or async iterator (``_upload.Upload``) is written by
the task that sent the request (``_Dispatcher.upload``): when the engine's buffer is full,
the task awaits the handle's ``HTTPRING_EVENT_WRITABLE`` completion, which comes through
the same fd and drain (no thread per upload); the request's completion wakes it too.

Under trio the same dispatcher runs on a ``_trio.TrioLoop`` (the loop calls above, done
with trio.lowlevel: a task per client waiting in ``wait_readable(fd)``, futures that park
the awaiting task), found when there is no running asyncio loop: asyncio pays one
``is None`` test per request for it.
"""

from __future__ import annotations

import asyncio
import ctypes
import inspect
import struct
import threading
from threading import get_ident as _get_ident
import weakref
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Dict, Iterable, List, Optional, Set, Tuple, Union

from . import _ffi
from ._auth import _Credentials
from ._base_client import BaseClient, _bind, _Own, _tie, yielded_request
from ._config import USE_CLIENT_DEFAULT
from ._engine import (
    COMPLETION_LAYOUT,
    Engine,
    Overrides,
    Prepared,
    Scratch,
    SpecBatch,
    with_retries,
)
from ._exceptions import ClientClosed, ClosedWhileReading, RequestError
from ._cookies import CookieTypes
from ._models import HeaderTypes, QueryParamTypes, Request, Response, attach_body
from ._loops import in_trio, running_asyncio_loop as _running_asyncio_loop, running_loop
from ._stream import AsyncBody, AsyncStreamContext
from ._upload import Upload, address, running, write_error
from ._transports import Mounts

if TYPE_CHECKING:
    from ._cookies import Cookies  # what CookieTypes and HeaderTypes name (for pdoc)
    from ._loops import Fut, Loop
    from ._models import Headers

_DRAIN_BATCH = 256
_HEAD = _ffi.HTTPRING_EVENT_HEAD


class _Dispatcher:
    """The per-client state the event loop's reader callback needs. Kept apart from
    AsyncClient so that a registered reader does not keep the client alive (the client's
    finalizer can then close it)."""

    __slots__ = (
        "engine", "pending", "next_uid", "loop", "fd", "s", "buf", "buf_view", "buf_p",
        "count", "drain", "free_many", "free_array", "thread", "queued", "queued_streams", "batch",
        "flush_scheduled", "send", "hout", "follow_uids", "streams", "writers", "bind_lock",
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # user_data -> (future, handle, method, url)
        self.pending: Dict[int, Tuple["Fut", int, str, str]] = {}
        self.next_uid = 0
        #: The asyncio loop, or trio run (TrioLoop), watching the fd.
        self.loop: "Optional[Loop]" = None
        self.fd = -1
        self.s = Scratch()
        size = COMPLETION_LAYOUT.size
        self.buf = (ctypes.c_char * (size * _DRAIN_BATCH))()
        struct.pack_into("@I", self.buf, 0, size)  # struct_size of element 0: the stride
        self.buf_view = memoryview(self.buf).cast("B")
        self.buf_p = ctypes.cast(self.buf, ctypes.POINTER(_ffi.httpring_completion))
        self.count = ctypes.c_size_t()
        self.drain = engine.lib.httpring_client_drain
        self.free_many = engine.lib.httpring_handles_free
        self.free_array = (ctypes.c_uint64 * _DRAIN_BATCH)()
        self.thread: Optional[int] = None
        # user_data -> (prepared, future, method, url): submitted by the next flush().
        self.queued: Dict[int, Tuple[Prepared, "Fut", str, str]] = {}
        #: The queued requests whose responses are streamed (``submit(stream=True)``:
        #: batched like the others, flagged ``HTTPRING_SPEC_STREAM``).
        self.queued_streams: Set[int] = set()
        self.batch = SpecBatch(engine)
        self.flush_scheduled = False
        self.send = engine.lib.httpring_client_send
        self.hout = self.s.handle
        #: Pending requests that follow redirects while the client does not: their
        #: completions are read with their history.
        self.follow_uids: Set[int] = set()
        #: user_data -> the body of a streamed response (head in, handle live), for its
        #: BODY completions. Weak, so that a response dropped unclosed is collected and
        #: frees its handle: a plain dict of refs (cheaper per response than a
        #: WeakValueDictionary); a body takes itself out when closed or collected.
        self.streams: "Dict[int, weakref.ReferenceType[AsyncBody]]" = {}
        #: user_data -> the future a task writing that request's body awaits (room in the
        #: engine's buffer: HTTPRING_EVENT_WRITABLE, or the request's end).
        self.writers: Dict[int, "Fut"] = {}
        #: Two threads' loops may call bind() at once (misuse, but it must not hang).
        self.bind_lock = threading.Lock()

    def bind(self, loop: "Loop") -> None:
        """Watches the fd from ``loop`` (the first loop used, or a new one once the old one
        has no requests in flight, and does not run on another thread)."""
        with self.bind_lock:
            self._bind(loop)

    def _bind(self, loop: "Loop") -> None:
        self.engine.check_open()
        old = self.loop
        if old is not None:
            if old.is_closed():
                # Whatever the closed loop left behind can never be awaited: drop what was
                # not sent, cancel and free what was. Streamed bodies stay with their
                # responses (a reader on the new loop may read one on).
                self.queued.clear()
                self.queued_streams.clear()
                for uid in list(self.pending):
                    self.abandon(uid)
                for body in self.live_streams():
                    body.waiter = None
                self.writers.clear()
            elif old.is_running() and self.thread != threading.get_ident():
                # Its requests may be between submit and `pending` right now: taking the fd
                # away would leave them unwoken forever.
                raise RuntimeError(
                    "this AsyncClient is in use by an event loop running on another thread; "
                    "use one client per loop"
                )
            elif self.pending or self.queued or any(b.waiter is not None for b in self.live_streams()):
                raise RuntimeError(
                    "this AsyncClient has requests in flight on another event loop; "
                    "use one client per loop"
                )
            else:
                old.remove_reader(self.fd)
        self.flush_scheduled = False
        self.fd = self.engine.fileno()
        loop.add_reader(self.fd, self.on_readable)
        self.loop = loop
        self.thread = threading.get_ident()

    def submit(
        self, prep: Prepared, method: str, url: str, ov: Optional[Overrides] = None, stream: bool = False
    ) -> Tuple[int, "Fut"]:
        """Queues a request; returns its user_data key and the future it will resolve.
        The queue goes to the engine in one ``httpring_client_send_many`` call (one wake-up
        of the I/O thread) from a callback the loop runs once every coroutine that was
        ready has had its turn. A request with ``ov`` (settings a batch cannot carry) or a
        streamed or multipart body (``built_only``) is built and submitted at once
        instead. ``stream``: its future resolves at the head (``open_heads``)."""
        loop = self.loop
        # The bound asyncio loop running on this thread is the running loop (asyncio runs
        # one loop per thread at a time): known without asyncio._get_running_loop(), which
        # before Python 3.12 makes a getpid() system call each time (a fork check).
        if loop is None or getattr(loop, "_thread_id", None) != _get_ident():
            loop = _running_asyncio_loop()
            if loop is None:
                loop = running_loop()
            if loop is not self.loop:
                self.bind(loop)
        if self.engine.closed:
            self.engine.check_open()
        uid = self.next_uid = self.next_uid + 1
        fut = loop.create_future()
        tmo = prep[4]
        # built_only(prep), inlined (the per-request path).
        if ov is not None or prep[3].__class__ is not bytes:
            h = self.engine.submit_request(prep, uid, self.s, url, ov, stream=stream)
            self.pending[uid] = (fut, h, method, url)
            if ov is not None and ov.follow and not self.engine.redirects:
                self.follow_uids.add(uid)
            return uid, fut
        if not self.pending and not self.flush_scheduled:
            # Nothing in flight and no batch forming: a lone request (sequential use)
            # goes at once rather than waiting for company.
            method_b, url_b, pairs, body, _ = prep
            if pairs is None and tmo is None and not stream:
                code = self.send(self.engine.ptr, method_b, url_b, None, 0, body, len(body), uid, self.hout)
                h = self.hout.value
            else:
                batch = self.batch
                code = batch.send(self.engine.ptr, (prep,), (uid,), {uid} if stream else None)
                h = batch.handles[0]
            if code:
                raise self.engine.submit_error(code, prep, url)
            self.pending[uid] = (fut, h, method, url)
            return uid, fut
        self.queued[uid] = (prep, fut, method, url)
        if stream:
            self.queued_streams.add(uid)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            loop.call_soon(self.flush)
        return uid, fut

    def flush(self) -> None:
        """Submits everything queued in one call. A refused request (bad URL, header...)
        fails its own future; the others run."""
        self.flush_scheduled = False
        queued = self.queued
        if not queued:
            return
        self.queued = {}
        streams = self.queued_streams
        if streams:
            self.queued_streams = set()
        engine = self.engine
        if engine.closed:
            for _, fut, method, url in queued.values():
                if not fut.done():
                    fut.set_exception(_closed_error(method, url))
            return
        uids = list(queued)
        entries = list(queued.values())
        preps = [e[0] for e in entries]
        for e in entries:
            if e[1].done():  # cancelled since it was queued: never submit it
                keep = [i for i, e in enumerate(entries) if not e[1].done()]
                uids = [uids[i] for i in keep]
                entries = [entries[i] for i in keep]
                preps = [preps[i] for i in keep]
                if not uids:
                    return
                break
        batch = self.batch
        try:
            code = batch.send(engine.ptr, preps, uids, streams)
        except Exception as e:  # never leave a future hanging
            for _, fut, _m, _u in entries:
                if not fut.done():
                    fut.set_exception(e)
            return
        pending = self.pending
        handles = batch.handles[: len(uids)]
        if code == 0:
            for uid, h, (_, fut, method, url) in zip(uids, handles, entries):
                pending[uid] = (fut, h, method, url)
            return
        codes = batch.codes[: len(uids)]
        alone = sum(1 for c in codes if c) == 1  # the last error message is its own
        for uid, h, c, (prep, fut, method, url) in zip(uids, handles, codes, entries):
            if c == 0:
                pending[uid] = (fut, h, method, url)
            elif not fut.done():
                try:
                    error: BaseException = engine.submit_error(c, prep, url, alone)
                except Exception as e:
                    error = e
                fut.set_exception(error)

    def on_readable(self) -> None:
        """The completion fd is readable: resolve what completed, then schedule a flush
        behind the tasks those results wake, so the requests they make next go to the
        engine in the same loop iteration, in one batch."""
        # With nothing left in flight (sequential use) the next request goes at once
        # from submit(): no flush to wait for.
        if self.resolve_completed() and self.pending and not self.flush_scheduled and self.loop is not None:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def resolve_completed(self) -> int:
        """Drains completions, builds each response, frees the batch, resolves futures;
        returns how many completions were drained. This is the per-request hot path:
        everything it needs is bound to locals."""
        engine = self.engine
        if engine.closed:
            return 0
        ptr = engine.ptr
        pending = self.pending
        s = self.s
        size = COMPLETION_LAYOUT.size
        total = 0
        follow_uids = self.follow_uids
        writers = self.writers
        while True:
            if self.drain(ptr, self.buf_p, _DRAIN_BATCH, self.count):
                return total  # closed meanwhile (by a finalizer): count was not written
            n = self.count.value
            total += n
            if not n:
                return total
            freed = []
            futs = []
            requests = []
            heads: List[Tuple[int, int, Any]] = []
            history = engine.redirects or bool(follow_uids)
            try:
                for h, uid, _code, _status, event in COMPLETION_LAYOUT.iter_unpack(self.buf_view[: n * size]):
                    if event and event != _HEAD:  # BODY (a streamed body's), WRITABLE (an upload's)
                        self.stream_event(h, uid, event)
                        continue
                    entry = pending.pop(uid, None)
                    if entry is None:
                        continue  # abandoned: its owner already freed it
                    if writers:
                        self.wake_writer(uid)  # its body is no longer sent
                    if follow_uids:
                        follow_uids.discard(uid)
                    if event:  # a streamed request's HEAD: read with the others (open_heads)
                        heads.append((h, uid, entry))
                        continue
                    freed.append(h)
                    futs.append(entry[0])
                    requests.append((entry[2], entry[3]))
                # One engine call reads the whole batch; every response is a copy.
                try:
                    results: List[Any] = engine.read_many(freed, requests, s, history)
                except Exception as e:  # never leave a future hanging
                    results = [e] * len(futs)
                for fut, result in zip(futs, results):
                    if not fut.done():
                        if result.__class__ is Response:
                            fut.set_result(result)
                        else:
                            fut.set_exception(result)
            finally:
                # The whole batch is freed in one call.
                k = len(freed)
                if k:
                    self.free_array[:k] = freed
                    self.free_many(ptr, self.free_array, k)
                # The heads, whatever raised: each future gets its Response, or its handle
                # is freed.
                if heads:
                    self.open_heads(heads, history)
            if n < _DRAIN_BATCH:
                return total

    def stream_event(self, h: int, uid: int, event: int) -> None:
        """A streamed body has something for its reader (BODY). Events of handles freed
        meanwhile are skipped by the engine; one for a body closed since it was queued
        finds no body here and is dropped. Or a request body being written has room
        (WRITABLE): its writer is woken."""
        if event == _ffi.HTTPRING_EVENT_WRITABLE:
            self.wake_writer(uid)
            return
        ref = self.streams.get(uid)
        if ref is not None:
            body = ref()
            if body is not None:
                body.wake()

    def open_heads(self, heads: List[Tuple[int, int, Any]], history: bool) -> None:
        """Streamed requests whose heads arrived (HEAD), as (handle, uid, pending entry),
        read in one engine call: each future gets its Response, whose body owns the
        handle from now on."""
        engine = self.engine
        try:
            results: List[Any] = engine.read_many(
                [h for h, _, _ in heads], [(e[2], e[3]) for _, _, e in heads], self.s, history
            )
        except Exception as e:  # never leave a future hanging
            results = [e] * len(heads)
        for (h, uid, (fut, _, method, url)), result in zip(heads, results):
            if result.__class__ is not Response or fut.done():
                engine.free(h)  # failed, or nobody waits for it any more
                if not fut.done():
                    fut.set_exception(result)
                continue
            body = AsyncBody(self, h, uid, method, url)
            self.streams[uid] = weakref.ref(body)
            attach_body(result, body)
            fut.set_result(result)

    def live_streams(self) -> List[AsyncBody]:
        """The streamed bodies not yet closed or collected."""
        return [b for b in (ref() for ref in list(self.streams.values())) if b is not None]

    def wake_writer(self, uid: int) -> None:
        w = self.writers.pop(uid, None)
        if w is not None and not w.done():
            w.set_result(None)

    async def upload(self, uid: int, fut: "Fut", body: Upload) -> None:
        """Writes the body of request ``uid`` (submitted, its response awaited with
        ``fut``) from its iterator or async iterator, then ends it. When the engine's
        buffer is full, awaits room (``HTTPRING_EVENT_WRITABLE``). Stops early once the
        request has its answer or failed (``fut`` then says which). Raises what the
        iterator raises; the caller then abandons the request."""
        entry = self.pending.get(uid)
        if entry is None or self.loop is None:
            return  # failed at once
        h = entry[1]
        engine = self.engine
        write = engine.lib.httpring_handle_write
        n = ctypes.c_size_t()
        total = 0
        async for chunk in body.achunks():
            size = len(chunk)
            off = 0
            while off < size:
                if engine.closed:
                    return
                data = chunk if not off else ctypes.c_char_p(address(chunk) + off)
                code = write(engine.ptr, h, data, size - off, n)
                if code == _ffi.HTTPRING_OK:
                    off += n.value
                    total += n.value
                elif code == _ffi.HTTPRING_PENDING:
                    # Full: one WRITABLE completion will announce room. The request's
                    # completion (or head) wakes the writer too: it then stops, as a
                    # server may answer without reading the rest.
                    if fut.done():
                        return
                    loop = self.loop
                    if loop is None:
                        return  # closed
                    w = self.writers[uid] = loop.create_future()
                    try:
                        await w
                    finally:
                        if self.writers.get(uid) is w:
                            del self.writers[uid]
                elif code == _ffi.HTTPRING_ERR_INVALID_ARGUMENT and running(engine, h):
                    raise write_error(body, total + size - off)
                else:
                    return  # the request ended: its result says how
        if not engine.closed:
            # An error here ends the request (a body short of its Content-Length fails
            # it): its result says how.
            engine.lib.httpring_handle_finish_body(engine.ptr, h)

    def abandon(self, uid: int) -> None:
        """The awaiting task gave up (cancelled, timed out): cancel and free the request,
        or just drop it if it was never submitted."""
        if self.queued.pop(uid, None) is not None:
            self.queued_streams.discard(uid)
            return
        self.follow_uids.discard(uid)
        entry = self.pending.pop(uid, None)
        if entry is not None and not self.engine.closed:
            h = entry[1]
            self.engine.cancel(h)
            self.engine.free(h)

    def close(self) -> None:
        """Stops watching the fd, fails what is pending, frees the engine client. Safe from
        any thread: the loop-bound part is handed to the loop's thread when needed."""
        loop = self.loop
        if (
            loop is not None
            and not loop.is_closed()
            and loop.is_running()
            and self.thread != threading.get_ident()
        ):
            loop.call_soon_threadsafe(self._close_now)
            return
        self._close_now()

    def _close_now(self) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed() and self.fd >= 0:
            loop.remove_reader(self.fd)
        self.loop = None
        pending, self.pending = self.pending, {}
        queued, self.queued = self.queued, {}
        self.queued_streams.clear()
        self.follow_uids.clear()
        waiting = list(pending.values()) + [(fut, 0, m, u) for _, fut, m, u in queued.values()]
        for fut, _h, method, url in waiting:
            if not fut.done() and not fut.get_loop().is_closed():
                fut.set_exception(_closed_error(method, url))
        # Readers of streamed bodies fail too (freeing the client frees their handles).
        for body in self.live_streams():
            body.fail(
                ClosedWhileReading(
                    "the client was closed while the response body was being read",
                    code=_ffi.HTTPRING_ERR_CLIENT_CLOSED,
                    request=Request(body.method, body.url),
                )
            )
        self.streams.clear()
        # Tasks writing request bodies stop (the engine client is going away).
        writers, self.writers = self.writers, {}
        for w in writers.values():
            if not w.done() and not w.get_loop().is_closed():
                w.set_result(None)
        # Freeing the client cancels and releases every handle still live. That can take up
        # to the engine's shutdown grace (2 s, a name lookup in progress): never on the
        # thread of a running event loop or trio run (see AsyncClient.aclose).
        inline = _running_asyncio_loop() is None and not in_trio()
        self.engine.close_soon(inline)


async def _gather(coros: List[Any], return_exceptions: bool) -> List[Any]:
    """Runs the coroutines concurrently (tasks under asyncio, a nursery under trio); their
    results in order. Cancelled, it cancels those still running."""
    if _running_asyncio_loop() is None:  # trio
        from . import _trio

        return await _trio.gather(coros, return_exceptions)
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks, return_exceptions=return_exceptions))
    except BaseException:
        for t in tasks:
            t.cancel()
        raise


async def _whole(item: Tuple[Prepared, str, str]) -> Tuple[Prepared, str, str]:
    """A prepared request with an ``Upload`` body read whole."""
    prep, method, url = item
    body = prep[3]
    if body.__class__ is not Upload:
        return item
    assert isinstance(body, Upload)
    return (prep[0], prep[1], prep[2], await body.aread(), prep[4]), method, url


def _closed_error(method: str, url: str) -> ClientClosed:
    return ClientClosed(
        "the client was closed while the request was pending",
        code=_ffi.HTTPRING_ERR_CLIENT_CLOSED,
        request=Request(method, url),
    )


class AsyncClient(BaseClient):
    """An asyncio (or trio) HTTP client over one engine client. Use it from one event
    loop or trio run at a time; ``async with`` or ``await client.aclose()`` closes it."""

    def _setup(self) -> None:
        transport = self._transport
        if transport.__class__ is Mounts:
            transport = transport.default
        if transport is not None and not callable(getattr(transport, "handle_async_request", None)):
            self._engine.close()
            raise TypeError(
                "AsyncClient(transport=...) needs a transport with handle_async_request() (an "
                f"httpring.AsyncBaseTransport), not {type(transport).__name__}"
            )
        self._transport_closed = False
        self._mount("handle_async_request")
        self._dispatcher = _Dispatcher(self._engine)
        self._finalizer = weakref.finalize(self, self._dispatcher.close)

    async def aclose(self) -> None:
        """Closes the client; pending requests fail with ClientClosed at once. Returns once
        the engine client is freed, which runs on another thread: the loop keeps going."""
        self._finalizer()
        if not self._transport_closed:
            self._transport_closed = True
            for transport in self._transports():
                await transport.aclose()
        freed = self._engine.freed
        if freed is not None and not freed.done():
            if _running_asyncio_loop() is not None:
                await asyncio.wrap_future(freed)
            else:
                from . import _trio

                await _trio.wait_future(freed)

    async def _call_hooks(self, hooks: List[Any], arg: Any) -> None:
        for hook in hooks:
            result = hook(arg)
            if inspect.isawaitable(result):
                await result

    async def _send_hooked(
        self, request: Request, ov: Optional[Overrides], retries: Optional[int] = None, stream: bool = False
    ) -> Response:
        """A request through the event hooks (awaited when async), then the transport or
        the engine; a custom auth flow (``ov.flow``) around it all."""
        if ov is not None and ov.flow is not None:
            return await self._send_flow(request, ov, retries, stream)
        transport = self._transport_for(request._url)
        own = creds = None
        if transport is not None:
            self._engine.check_open()
            own = self._own_headers(request)
            self._add_jar_cookies(request)
            self._add_timeout_extension(request)
            creds = self._with_credentials(request, ov)
        if self._request_hooks:
            await self._call_hooks(self._request_hooks, request)
        try:
            if transport is None:
                prep, method, url = self._from_request(request)
                prep = with_retries(prep, retries)
                ov = self._request_overrides(ov, request)
                if stream:
                    response = await self._open_stream(prep, method, url, ov)
                else:
                    response = await self._send_one(prep, method, url, ov)
                _bind(response, request, prep)
                if self._engine_stopped_at_mount(response, ov):
                    own = self._own_headers(request)  # as the engine was given them
            else:
                await request.aread()  # a body given as an iterator, read whole (as httpx's MockTransport)
                response = await self._transport_send(transport, request, creds)
                if not stream:
                    await response.aread()  # a streamed answer (content= an iterator), read as httpx does
        except RequestError as e:
            _tie(e, request, transport is None)
            raise
        if self._response_hooks:
            try:
                await self._call_hooks(self._response_hooks, response)
            except BaseException:
                await response.aclose()  # a streamed response nobody will get to close
                raise
        if own is not None and (transport is None or self._follows_on(response, transport, ov)):
            return await self._follow_redirects(response, ov, retries, stream, own)
        return response

    async def _transport_send(self, transport: Any, request: Request, creds: Optional[_Credentials]) -> Response:
        """``request`` to ``transport``, and a ``401`` Digest challenge answered as the
        engine answers it (once, once more for a stale nonce; the 401 is not kept)."""
        response = self._received(await transport.handle_async_request(request), request)
        for stale_only in (False, True):
            answer = self._challenge_answer(creds, request, response, stale_only)
            if answer is None:
                break
            try:
                await response.aread()
            finally:
                await response.aclose()
            request.headers["Authorization"] = answer
            response = self._received(await transport.handle_async_request(request), request)
        return response

    async def _follow_redirects(
        self, response: Response, ov: Optional[Overrides], retries: Optional[int], stream: bool,
        own: _Own,
    ) -> Response:
        """``Client._follow_redirects``: the redirects a transport answered with, followed
        hop by hop as httpx follows them around any transport."""
        # The hops the engine followed before it stopped at a mounted origin come first.
        history: List[Response] = list(response.history)
        while response.next_request is not None:
            try:
                await response.aread()
            finally:
                await response.aclose()
            request = self._redirect_hop(response, history, ov, own)
            response = await self._send_hooked(request, self._hop_overrides(ov, request), retries, stream)
        response.history = history + response.history
        return response

    async def _send_flow(self, request: Request, ov: Overrides, retries: Optional[int], stream: bool) -> Response:
        """``Client._send_flow`` with the flow's ``async_auth_flow``."""
        flow = ov.flow.async_auth_flow(request)  # type: ignore[union-attr]
        ov = ov._replace(flow=None)
        history: List[Response] = []
        try:
            request = yielded_request(await flow.__anext__())
            while True:
                response = await self._send_hooked(request, ov, retries, stream)
                try:
                    try:
                        next_request = await flow.asend(response)
                    except StopAsyncIteration:
                        if history:
                            response.history = history + response.history
                        return response
                    await response.aread()
                    await response.aclose()
                    history.append(response)
                    request = yielded_request(next_request)
                except BaseException:
                    await response.aclose()
                    raise
        finally:
            await flow.aclose()

    async def __aenter__(self) -> "AsyncClient":
        self._engine.check_open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    @property
    def cancelled_requests(self) -> int:
        """Requests cancelled in the engine because their awaiting task was cancelled."""
        return self._engine.cancelled

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
    ) -> AsyncStreamContext:
        """``Client.stream`` for asyncio and trio (``async with client.stream(...) as r``):
        read the body with ``aiter_bytes()``, ``aiter_text()``, ``aiter_lines()``,
        ``aiter_raw()`` or ``aread()``; leaving the block closes the response. ``content=``
        may be an async iterator (or an iterator, a file) of bytes, sent as it is read."""
        args = (
            method, url, params, headers, content, data, files, json, cookies, timeout,
            follow_redirects, auth, retries, extensions,
        )
        return AsyncStreamContext(self._stream_response, args)

    def _stream_response(self, args: Tuple[Any, ...]) -> Awaitable[Response]:
        """``stream``'s request (its arguments in order), sent: what gives its Response
        once the head is in. (Not a coroutine: the one it returns is the only one.)"""
        prep, method, url, ov, request = self._prepare_stream(*args)
        if request is not None:
            return self._send_hooked(request, ov, None, True)
        return self._open_stream(prep, method, url, ov)

    async def _open_stream(self, prep: Prepared, method: str, url: str, ov: Optional[Overrides]) -> Response:
        """Submits a streamed request; returns its Response once the head is in."""
        d = self._dispatcher
        uid, fut = d.submit(prep, method, url, ov, stream=True)
        try:
            up = prep[3]
            if up.__class__ is Upload and up.writer:
                await d.upload(uid, fut, up)
            response: Response = await fut
        except BaseException:
            if uid in d.pending or uid in d.queued:
                d.abandon(uid)
            elif fut.done() and not fut.cancelled() and fut.exception() is None:
                # The head came, but this task was cancelled before it could take it.
                await fut.result().aclose()
            raise
        body = getattr(response, "_stream", None)  # always there: it completed with its head
        if isinstance(body, AsyncBody):
            body.client = self
        response._sent = (prep, self._sent_headers)
        if self._follows(ov):
            response._next_request = None
        return response

    async def _send_one(self, prep: Prepared, method: str, url: str, ov: Optional[Overrides]) -> Response:
        d = self._dispatcher
        uid, fut = d.submit(prep, method, url, ov)
        try:
            body = prep[3]
            if body.__class__ is Upload and body.writer:
                await d.upload(uid, fut, body)
            response: Response = await fut
        except BaseException:
            # A failed request was already popped and freed by on_readable; a cancelled
            # wait still owns its handle.
            if uid in d.pending or uid in d.queued:
                d.abandon(uid)
            raise
        if self._follows(ov):  # followed redirects: no next_request
            response._next_request = None
        return response

    async def request(
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
            return await self._send_hooked(self._request_of(prep, method, url_s, extensions), ov)
        # _send_one inlined: one coroutine per request, not two.
        d = self._dispatcher
        uid, fut = d.submit(prep, method, url_s, ov)
        try:
            if content is not None:
                body = prep[3]
                if body.__class__ is Upload and body.writer:
                    # An iterator or async iterator of chunks: written as the engine takes them.
                    await d.upload(uid, fut, body)
            response: Response = await fut
        except BaseException:
            if uid in d.pending or uid in d.queued:
                d.abandon(uid)
            raise
        response._sent = (prep, self._sent_headers)
        if self._engine_follow if ov is None else ov.follow:  # followed: no next_request
            response._next_request = None
        return response

    async def get(
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
        # The body of request(), repeated so a GET is a single coroutine.
        if (params is None and headers is None and timeout is USE_CLIENT_DEFAULT and cookies is None and retries is None
                and extensions is None):
            prep, url_s, _ = self._get_prepared(url)
        else:
            prep, _, url_s = self._prepare(
                "GET", url, params, headers, None, None, None, timeout, cookies, None, retries, extensions
            )
        if follow_redirects is USE_CLIENT_DEFAULT and auth is USE_CLIENT_DEFAULT:
            ov = self._default_overrides
        else:
            ov = self._overrides(follow_redirects, auth)
        if self._transport is not None or self._request_hooks or self._response_hooks or (
            ov is not None and ov.flow is not None
        ):
            return await self._send_hooked(self._request_of(prep, "GET", url_s, extensions), ov)
        d = self._dispatcher
        uid, fut = d.submit(prep, "GET", url_s, ov)
        try:
            response: Response = await fut
        except BaseException:
            if uid in d.pending or uid in d.queued:
                d.abandon(uid)
            raise
        response._sent = (prep, self._sent_headers)
        if self._engine_follow if ov is None else ov.follow:  # followed: no next_request
            response._next_request = None
        return response

    async def head(
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
        return await self.request(
            "HEAD", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    async def options(
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
        return await self.request(
            "OPTIONS", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    async def delete(
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
        return await self.request(
            "DELETE", url, params=params, headers=headers, timeout=timeout,
            follow_redirects=follow_redirects, auth=auth, cookies=cookies, retries=retries, extensions=extensions,
        )

    async def post(
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
        return await self.request(
            "POST", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=follow_redirects, auth=auth, cookies=cookies,
            retries=retries, extensions=extensions,
        )

    async def put(
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
        return await self.request(
            "PUT", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=follow_redirects, auth=auth, cookies=cookies,
            retries=retries, extensions=extensions,
        )

    async def patch(
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
        return await self.request(
            "PATCH", url, content=content, data=data, files=files, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=follow_redirects, auth=auth, cookies=cookies,
            retries=retries, extensions=extensions,
        )

    async def send(
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
        ``stream()``); close the response (``await response.aclose()``)."""
        ov = self._overrides(follow_redirects, auth)
        if self._transport is not None or self._request_hooks or self._response_hooks or (
            ov is not None and ov.flow is not None
        ):
            return await self._send_hooked(self._as_request(request), ov, retries, stream)
        prep, method, url = self._from_request(request)
        prep = with_retries(prep, retries)
        ov = self._request_overrides(ov, request)
        if stream:
            response = await self._open_stream(prep, method, url, ov)
        else:
            response = await self._send_one(prep, method, url, ov)
        if isinstance(request, Request):
            _bind(response, request, prep)
        return response

    async def send_many(
        self,
        requests: Iterable[Union[Request, str, Tuple[str, Any]]],
        *,
        return_exceptions: bool = False,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
        auth: Any = USE_CLIENT_DEFAULT,
    ) -> List[Any]:
        """Submits every request before awaiting any, then awaits them all; results in the
        order given. Cancelling this call cancels every request still in flight.

        With event hooks, every request hook runs (on every request) before anything is
        sent; a response hook that raises fails its request."""
        given = list(requests)
        ov = self._overrides(follow_redirects, auth)
        if ov is not None and ov.flow is not None:
            # A custom auth flow decides each request's next step: each runs on its own.
            self._engine.check_open()
            requests_ = [self._as_request(r) for r in given]
            return await _gather(
                [self._send_hooked(r, self._request_overrides(ov, r)) for r in requests_], return_exceptions
            )
        if self._transport is not None or self._request_hooks or self._response_hooks:
            return await self._send_many_hooked(given, return_exceptions, follow_redirects, auth)
        return await self._send_many(given, return_exceptions, follow_redirects, auth)

    async def _send_many_hooked(
        self, given: List[Any], return_exceptions: bool, follow_redirects: Any, auth: Any
    ) -> List[Any]:
        self._engine.check_open()
        requests = [self._as_request(r) for r in given]
        # Each request's transport (None: the engine); with mounts they may differ.
        routes = [self._transport_for(r._url) for r in requests]
        owns: Dict[int, _Own] = {}
        creds: Dict[int, Optional[_Credentials]] = {}
        ov = self._overrides(follow_redirects, auth)
        for request, transport in zip(requests, routes):
            if transport is not None:
                owns[id(request)] = self._own_headers(request)
                self._add_jar_cookies(request)
                creds[id(request)] = self._with_credentials(request, ov)
        if self._request_hooks:
            for request in requests:
                await self._call_hooks(self._request_hooks, request)

        hooked: Set[int] = set()  # ids of responses followed here: their hops went through the hooks

        async def one(request: Request, transport: Any) -> Response:
            try:
                await request.aread()
                response = await self._transport_send(transport, request, creds[id(request)])
                await response.aread()
                if self._follows_on(response, transport, ov):
                    # Each hop through the hooks as it comes (the later ones inside).
                    if self._response_hooks:
                        await self._call_hooks(self._response_hooks, response)
                    response = await self._follow_redirects(response, ov, None, False, owns[id(request)])
                    hooked.add(id(response))
                return response
            except RequestError as e:
                _tie(e, request, False)
                raise

        engine_side = [r for r, t in zip(requests, routes) if t is None]

        async def engine_batch() -> List[Any]:
            # One batch for everything the engine sends.
            return await self._send_many(engine_side, return_exceptions, follow_redirects, auth)

        if len(engine_side) == len(requests):
            results: List[Any] = await engine_batch()
        else:
            jobs: List[Any] = [one(r, t) for r, t in zip(requests, routes) if t is not None]
            if engine_side:
                jobs.append(engine_batch())
            done = await _gather(jobs, return_exceptions)
            from_engine = iter(done[-1] if engine_side else ())
            if engine_side and isinstance(done[-1], BaseException):
                raise done[-1]
            from_transports = iter(done[: len(requests) - len(engine_side)])
            results = [next(from_engine) if t is None else next(from_transports) for t in routes]
        for i, (request, transport) in enumerate(zip(requests, routes)):
            r = results[i]
            if transport is None and r.__class__ is Response and self._engine_stopped_at_mount(r, ov):
                try:  # the engine stopped at a hop into a mount: on from there, one by one
                    if self._response_hooks:
                        await self._call_hooks(self._response_hooks, r)
                    r = results[i] = await self._follow_redirects(r, ov, None, False, self._own_headers(request))
                    hooked.add(id(r))
                except Exception as e:
                    if not return_exceptions:
                        raise
                    results[i] = e
        if self._response_hooks:
            for i, r in enumerate(results):
                if isinstance(r, Response) and id(r) not in hooked:
                    try:
                        await self._call_hooks(self._response_hooks, r)
                    except Exception as e:
                        if not return_exceptions:
                            raise
                        results[i] = e
        return results

    async def _send_many(
        self, given: List[Any], return_exceptions: bool, follow_redirects: Any, auth: Any
    ) -> List[Any]:
        items = [self._from_request(r) for r in given]
        if any(it[0][3].__class__ is Upload for it in items):
            # Bodies given as iterators: read whole (nobody writes them as they go here).
            items = [await _whole(it) for it in items]
        ov = self._overrides(follow_redirects, auth)
        d = self._dispatcher
        loop = running_loop()
        uids: List[int] = []
        futures: List[Any] = []
        try:
            for (prep, method, url), item in zip(items, given):
                try:
                    uid, fut = d.submit(prep, method, url, self._request_overrides(ov, item))
                except Exception as e:
                    if not return_exceptions:
                        raise
                    fut = loop.create_future()
                    fut.set_exception(e)
                    futures.append(fut)
                    continue
                uids.append(uid)
                futures.append(fut)
            if _running_asyncio_loop() is None:  # trio
                from . import _trio

                results = await _trio.gather(futures, return_exceptions)
            else:
                results = await asyncio.gather(*futures, return_exceptions=return_exceptions)
        except BaseException:
            for uid in uids:
                if uid in d.pending or uid in d.queued:
                    d.abandon(uid)
            for f in futures:
                if f.done() and not f.cancelled():
                    f.exception()  # mark retrieved: no "never retrieved" warnings
            raise
        follow = self._follows(ov)
        for r, item, it in zip(results, given, items):
            if r.__class__ is Response:
                if isinstance(item, Request):
                    _bind(r, item, it[0])
                else:
                    r._sent = (it[0], self._sent_headers)
                if follow:
                    r._next_request = None
        return list(results)
