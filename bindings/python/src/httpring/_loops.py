"""Which event loop an AsyncClient call runs on: asyncio's running loop, else this trio
run's ``_trio.TrioLoop`` (same calls; see ``_trio``). asyncio pays one ``is None`` test;
trio is looked for only without an asyncio loop, and only if something imported it."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from ._trio import TrioFuture, TrioLoop

    Loop = Union[asyncio.AbstractEventLoop, TrioLoop]
    Fut = Union["asyncio.Future[Any]", TrioFuture]

#: The running asyncio loop or None (C, never raises): the hot paths test it first.
running_asyncio_loop = asyncio._get_running_loop


def running_loop() -> "Loop":
    """The running asyncio loop, else this trio run's TrioLoop; RuntimeError without
    either."""
    loop = running_asyncio_loop()
    if loop is not None:
        return loop
    if "trio" in sys.modules:
        from . import _trio

        trio_loop = _trio.current_loop()
        if trio_loop is not None:
            return trio_loop
    raise RuntimeError("no running event loop (AsyncClient runs under asyncio or trio)")


def in_trio() -> bool:
    """Whether this thread runs trio (and no asyncio loop)."""
    if running_asyncio_loop() is not None or "trio" not in sys.modules:
        return False
    from . import _trio

    return _trio.running()
