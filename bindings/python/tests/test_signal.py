"""The completion fd is Linux's eventfd, or the portable self-pipe when forced with
HTTPRING_SIGNAL=pipe (the installed-wheel run in CI forces it): either way the client's
blocking and asyncio paths work on it."""

import asyncio
import os
import stat

import httpring


def test_the_completion_fd_is_the_kind_asked_for(testserver):
    with httpring.Client() as client:
        fd = client.fileno()
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
        assert is_pipe == (os.environ.get("HTTPRING_SIGNAL") == "pipe")
        assert client.get(f"{testserver.url}/hello").status_code == 200


def test_many_async_completions_arrive_through_it(testserver):
    async def main():
        async with httpring.AsyncClient() as client:
            rs = await asyncio.gather(*(client.get(f"{testserver.url}/hello") for _ in range(300)))
            return [r.status_code for r in rs]

    assert asyncio.run(main()) == [200] * 300
