"""The synchronous facade's hop (reference_impl.sync._LoopThread.call), which
hands each call's outcome over from inside the task it runs in: results and
exceptions arrive as they were, raised or returned, whatever ``fn`` gives
back; a timeout cancels the call on the loop; a call whose task is
cancelled before it starts still answers its caller; the loop thread may not call
itself; an Echo used after ``destroy`` says so."""
import asyncio
import threading

import pytest

from ipc_conformance.reference_impl import Ipc
from ipc_conformance.reference_impl.errors import ProxyDestroyed
from ipc_conformance.reference_impl.sync import _LoopThread


@pytest.fixture
def loop_thread():
    lt = _LoopThread("test-sync-call")
    yield lt
    lt.stop()


def test_results_and_errors_arrive_as_they_were(loop_thread):
    async def answer(x):
        return x * 2

    async def fails():
        raise KeyError("inside")

    def raises_at_once():
        raise ValueError("before any await")

    def a_future():
        fut = asyncio.get_running_loop().create_future()
        fut.set_result("from a future")
        return fut

    assert loop_thread.call(answer, 21) == 42
    with pytest.raises(KeyError, match="inside"):
        loop_thread.call(fails)
    with pytest.raises(ValueError, match="before any await"):
        loop_thread.call(raises_at_once)
    assert loop_thread.call(a_future) == "from a future"


def test_calls_run_on_the_loop_thread_in_a_task(loop_thread):
    async def where():
        return threading.current_thread().name, asyncio.current_task() is not None

    assert loop_thread.call(where) == ("test-sync-call", True)


def test_a_timeout_cancels_the_call_on_the_loop(loop_thread):
    cancelled = threading.Event()

    async def never():
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        loop_thread.call(never, timeout=0.05)
    assert cancelled.wait(10)
    assert loop_thread.call(asyncio.sleep, 0, "still serving") == "still serving"


def test_a_call_cancelled_before_its_first_step_releases_its_caller(loop_thread, monkeypatch):
    """The loop shutting down as a call arrives cancels its task before the
    task's coroutine is entered, so the coroutine's own hand-over never runs:
    the caller must still get an answer (the cancellation), not wait out its
    timeout."""
    real = asyncio.ensure_future
    entered = []

    def cancelled_at_once(coro):
        task = real(coro)
        task.cancel()          # before the loop gives the task its first step
        return task

    async def body():
        entered.append(True)

    monkeypatch.setattr(asyncio, "ensure_future", cancelled_at_once)
    with pytest.raises(asyncio.CancelledError):
        loop_thread.call(body, timeout=10)
    monkeypatch.undo()
    assert not entered
    assert loop_thread.call(asyncio.sleep, 0, "still serving") == "still serving"


def test_the_loop_thread_may_not_call_itself(loop_thread):
    async def nested():
        return loop_thread.call(asyncio.sleep, 0)

    with pytest.raises(RuntimeError, match="own loop thread"):
        loop_thread.call(nested)


def test_an_echo_after_destroy_is_refused(stage):
    with Ipc("parent", argv0=stage.argv0) as ipc, ipc.spawn_process("probe") as init:
        echo = init.make_echo()
        assert echo.echo("once") == "once"
        echo.destroy()
        with pytest.raises(ProxyDestroyed):
            echo.echo("twice")
        with pytest.raises(ProxyDestroyed):
            echo.destroy()
