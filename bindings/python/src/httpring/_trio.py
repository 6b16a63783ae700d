"""AsyncClient under trio: the few event-loop calls the dispatcher makes, done with trio's
own primitives.

The dispatcher (``_async_client._Dispatcher``) and the streamed bodies speak asyncio's loop
API: ``create_future``, ``call_soon``, ``add_reader``/``remove_reader``, ``is_closed``,
``call_soon_threadsafe``. Inside a trio run, ``current_loop()`` gives them a ``TrioLoop``
with those calls instead (one per run, a RunVar):

- ``add_reader``: a system task per client fd that loops on
  ``trio.lowlevel.wait_readable(fd)`` and calls the dispatcher's drain; ``remove_reader``
  stops it with ``notify_closing`` (before the engine closes the fd).
- ``call_soon``: one system task per run, parked until something is queued; waking it is
  a reschedule (no syscall), and it runs after the tasks that were ready, as asyncio's
  callbacks do: the requests they submitted go to the engine in one batch.
- ``create_future``: a ``TrioFuture``: its awaiting task parks
  (``wait_task_rescheduled``) and ``set_result`` reschedules it. A cancel scope that
  cancels the task marks the future cancelled, as asyncio cancels the future a cancelled
  task awaited, so the dispatcher's cancellation path (cancel and free the engine request)
  is the same.

trio itself is used directly rather than through anyio: the module is imported only once a
trio run calls the client (trio is then imported already), so neither trio nor anyio is a
dependency, and the asyncio path never goes through it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any, Callable, Dict, Generator, List, Optional, Sequence

import trio
from trio.lowlevel import (
    Abort,
    RunVar,
    Task,
    current_task,
    current_trio_token,
    notify_closing,
    reschedule,
    spawn_system_task,
    wait_readable,
    wait_task_rescheduled,
)

_LOOP: "RunVar[TrioLoop]" = RunVar("httpring_loop")
_log = logging.getLogger("httpring")


def current_loop() -> "Optional[TrioLoop]":
    """This trio run's loop for the dispatcher; None outside a trio run."""
    try:
        return _LOOP.get()
    except LookupError:
        loop = TrioLoop()
        _LOOP.set(loop)
        return loop
    except RuntimeError:  # not in a trio run
        return None


def running() -> bool:
    try:
        current_trio_token()
    except RuntimeError:
        return False
    return True


def _call(callback: Callable[[], object]) -> None:
    # An exception in a system task would crash the run: logged, as asyncio logs a failed
    # callback.
    try:
        callback()
    except Exception:
        _log.exception("httpring: exception in a trio callback %r", callback)


class TrioFuture:
    """The part of asyncio.Future the dispatcher uses, awaited by one trio task."""

    __slots__ = ("_loop", "_task", "_state", "_value")

    def __init__(self, loop: "TrioLoop") -> None:
        self._loop = loop
        self._task: Optional[Task] = None
        #: 0 pending, 1 result, 2 exception, 3 cancelled.
        self._state = 0
        self._value: Any = None

    def get_loop(self) -> "TrioLoop":
        return self._loop

    def done(self) -> bool:
        return self._state != 0

    def cancelled(self) -> bool:
        return self._state == 3

    def set_result(self, value: Any) -> None:
        self._settle(1, value)

    def set_exception(self, exc: BaseException) -> None:
        self._settle(2, exc)

    def _settle(self, state: int, value: Any) -> None:
        if self._state:
            raise RuntimeError("the future is already done")
        self._state = state
        self._value = value
        task = self._task
        if task is not None:
            self._task = None
            reschedule(task)

    def result(self) -> Any:
        if self._state == 2:
            raise self._value
        if self._state != 1:
            raise RuntimeError("the future has no result")
        return self._value

    def exception(self) -> Optional[BaseException]:
        return self._value if self._state == 2 else None

    def _abort(self, _: object) -> Abort:
        # The waiting task was cancelled: it no longer takes the result.
        self._task = None
        self._state = 3
        return Abort.SUCCEEDED

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._state:
            self._task = current_task()
            yield from wait_task_rescheduled(self._abort).__await__()
        return self.result()


class _Reader:
    __slots__ = ("stopped",)

    def __init__(self) -> None:
        self.stopped = False


class TrioLoop:
    """The asyncio loop calls the dispatcher makes, for one trio run."""

    def __init__(self) -> None:
        self.token = current_trio_token()
        self.closed = False
        self.readers: Dict[int, _Reader] = {}
        self.soon: List[Callable[[], object]] = []
        #: The call_soon task while it is parked with nothing to run.
        self.soon_task: Optional[Task] = None
        spawn_system_task(self._run_soon, name="httpring call_soon")

    def is_closed(self) -> bool:
        return self.closed

    def is_running(self) -> bool:
        return not self.closed

    def create_future(self) -> TrioFuture:
        return TrioFuture(self)

    def call_soon(self, callback: Callable[[], object]) -> None:
        self.soon.append(callback)
        task = self.soon_task
        if task is not None:
            self.soon_task = None
            reschedule(task)

    def call_soon_threadsafe(self, callback: Callable[[], object]) -> None:
        try:
            self.token.run_sync_soon(_call, callback)
        except trio.RunFinishedError:  # the run ended meanwhile: nothing of it is left
            callback()

    def _unpark(self, _: object) -> Abort:
        self.soon_task = None
        return Abort.SUCCEEDED

    async def _run_soon(self) -> None:
        try:
            while True:
                if not self.soon:
                    self.soon_task = current_task()
                    await wait_task_rescheduled(self._unpark)
                batch, self.soon = self.soon, []
                for callback in batch:
                    _call(callback)
        finally:
            # Cancelled: the run is ending (system tasks are cancelled when its main task
            # returns).
            self.closed = True

    def add_reader(self, fd: int, callback: Callable[[], object]) -> None:
        reader = self.readers[fd] = _Reader()
        spawn_system_task(self._watch, fd, callback, reader, name=f"httpring fd {fd}")

    def remove_reader(self, fd: int) -> None:
        reader = self.readers.pop(fd, None)
        if reader is not None:
            reader.stopped = True
            notify_closing(fd)  # wakes the watcher; the engine closes the fd after

    async def _watch(self, fd: int, callback: Callable[[], object], reader: _Reader) -> None:
        try:
            while not reader.stopped:
                await wait_readable(fd)
                _call(callback)
        except (trio.ClosedResourceError, OSError):
            pass


async def wait_future(fut: "Future[Any]") -> None:
    """Waits for a concurrent.futures.Future set by another thread, without blocking the
    run (asyncio.wrap_future's part in AsyncClient.aclose)."""
    if fut.done():
        return
    token = current_trio_token()
    event = trio.Event()

    def done(_: object) -> None:
        try:
            token.run_sync_soon(event.set)
        except trio.RunFinishedError:
            pass

    fut.add_done_callback(done)
    await event.wait()


async def gather(aws: Sequence[Any], return_exceptions: bool) -> List[Any]:
    """asyncio.gather for trio: the results in order; the first exception to come cancels
    the rest and is raised (not an ExceptionGroup), unless ``return_exceptions``."""
    results: List[Any] = [None] * len(aws)
    first: List[BaseException] = []

    async with trio.open_nursery() as nursery:

        async def one(i: int, aw: Any) -> None:
            try:
                results[i] = await aw
            except Exception as e:
                if return_exceptions:
                    results[i] = e
                elif not first:
                    first.append(e)
                    nursery.cancel_scope.cancel()

        for i, aw in enumerate(aws):
            nursery.start_soon(one, i, aw)
    if first:
        raise first[0]
    return results
