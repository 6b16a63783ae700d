"""The sync handle-level API: submit -> Handle, poll/wait/cancel/response, fileno + drain."""

from __future__ import annotations

import gc
import select
import threading
import time

import pytest

import httpring


def test_submit_poll_wait_response(client, testserver):
    h = client.submit("GET", testserver.url + "/delay/200")
    assert h.id != 0
    assert h.poll() is False and h.state == "pending"
    assert h.wait(0.01) is False
    assert h.wait(5) is True
    assert h.poll() is True and h.state == "done"
    r = h.response()
    assert r.status_code == 200 and r.content == b"ok"
    assert h.id == 0  # freed once the response was built
    assert h.response() is r
    assert client.live_handles() == 0


def test_handle_failure(client):
    h = client.submit("GET", "http://127.0.0.1:1/")
    h.wait()
    assert h.state == "failed"
    with pytest.raises(httpring.ConnectError):
        h.response()
    with pytest.raises(httpring.ConnectError):
        h.response()


def test_cancel(client, testserver):
    h = client.submit("GET", testserver.url + "/stall")
    h.cancel()
    assert h.wait(1) is True
    with pytest.raises(httpring.RequestCancelled) as info:
        h.response()
    assert info.value.code_name == "HTTPRING_ERR_CANCELLED"
    assert client._engine.cancelled == 1


def test_close_frees_and_cancels(client, testserver):
    with client.submit("GET", testserver.url + "/stall") as h:
        assert client.live_handles() == 1
    assert client.live_handles() == 0
    h.close()  # a second close is a no-op, never a double free
    with pytest.raises(httpring.InvalidHandle):
        h.poll()


def test_garbage_collected_handle_is_freed(client, testserver):
    client.submit("GET", testserver.url + "/stall")
    gc.collect()
    assert client.live_handles() == 0


@pytest.mark.allow_live_at_close
def test_handle_outliving_its_client(testserver):
    c = httpring.Client()
    h = c.submit("GET", testserver.url + "/hello")
    h.wait()
    c.close()
    with pytest.raises(httpring.ClientClosed):
        h.response()
    h.close()


def test_per_request_timeout_on_handle(client, testserver):
    h = client.submit("GET", testserver.url + "/stall", timeout=0.1)
    with pytest.raises(httpring.ReadTimeout):
        h.response()


def test_fileno_and_drain(client, testserver):
    fd = client.fileno()
    handles = {client.submit("GET", f"{testserver.url}/echo?i={i}", user_data=i + 1) for i in range(5)}
    done = []
    deadline = time.monotonic() + 5
    while len(done) < 5 and time.monotonic() < deadline:
        select.select([fd], [], [], 1)
        done.extend(client.drain())
    assert sorted(c.user_data for c in done) == [1, 2, 3, 4, 5]
    assert all(c.ok and c.status == 200 for c in done)
    assert {c.handle for c in done} == handles
    for c in done:
        assert c.handle.user_data == c.user_data
        assert c.handle.response().json()["path"] == f"/echo?i={c.user_data - 1}"
    assert client.drain() == []
    assert not select.select([fd], [], [], 0)[0]  # readiness cleared when empty


def test_drain_reports_failures(client):
    h = client.submit("GET", "http://127.0.0.1:1/", user_data=9)
    h.wait()
    [c] = client.drain()
    assert c.user_data == 9 and not c.ok and c.status == 0
    assert c.code == httpring._ffi.HTTPRING_ERR_CONNECT_REFUSED
    h.close()


def test_plain_requests_do_not_show_in_drain(client, testserver):
    client.fileno()
    client.get(testserver.url + "/hello")
    client.send_many([testserver.url + "/hello"] * 3)
    assert client.drain() == []


def test_user_data_range(client, testserver):
    with pytest.raises(ValueError):
        client.submit("GET", testserver.url + "/hello", user_data=2**63)


def test_wait_any_and_all(client, testserver):
    slow = client.submit("GET", testserver.url + "/delay/500")
    fast = client.submit("GET", testserver.url + "/delay/10")
    assert client.wait_any([slow, fast], timeout=5) == 1
    assert client.wait_all([slow, fast], timeout=0.01) is False
    assert client.wait_all([slow, fast], timeout=5) is True
    assert slow.response().status_code == fast.response().status_code == 200


def test_blocking_wait_releases_the_gil(client, testserver):
    ticks = 0
    stop = False

    def spin():
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        h = client.submit("GET", testserver.url + "/delay/300")
        h.wait()
        h.close()
    finally:
        stop = True
        t.join()
    assert ticks > 50
