"""Call user functions the way the Python worker does, and keep the record of every invocation.

Async functions run on one event loop shared by all invocations (the worker has one loop); sync functions
run in a thread pool (`PYTHON_THREADPOOL_THREAD_COUNT`, default min(32, CPUs + 4)). Parameters are filled
by binding name: the trigger, `func.Out` objects for output bindings, and `context` if declared. Outputs
are written only when the function succeeds, as the host does; a failed output write fails the invocation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import azure.functions as func

from sandbox.host.loader import FunctionSpec, QueueOutputSpec
from sandbox.host.logs import fields, logger
from sandbox.host.threads import THREAD_PREFIX


@dataclass(frozen=True)
class Invocation:
    id: str
    function: str
    trigger: str
    started_at: datetime
    duration: float  # seconds
    succeeded: bool
    error: str | None  # exception type name; details are only in the host's log


@dataclass(frozen=True)
class Outcome:
    invocation: Invocation
    value: Any  # the function's return value; None when it failed


class OutputSink(Protocol):
    def write(self, output: QueueOutputSpec, value: Any) -> None: ...


class InvocationLog:
    """Every finished invocation, and how many are in flight; thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._records: list[Invocation] = []
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        with self._changed:
            return self._in_flight

    def all(self, function: str | None = None) -> list[Invocation]:
        with self._changed:
            return [r for r in self._records if function is None or r.function == function]

    def count(self, function: str | None = None, *, succeeded: bool | None = None) -> int:
        return sum(1 for r in self.all(function) if succeeded is None or r.succeeded == succeeded)

    def wait_until(self, predicate: Callable[[InvocationLog], bool], timeout: float) -> bool:
        """Block until `predicate(self)` holds (re-checked after each invocation ends) or `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_idle(self, timeout: float) -> bool:
        return self.wait_until(lambda log: log._in_flight == 0, timeout)

    def _begin(self) -> None:
        with self._changed:
            self._in_flight += 1
            self._changed.notify_all()

    def _end(self, record: Invocation) -> None:
        with self._changed:
            self._in_flight -= 1
            self._records.append(record)
            self._changed.notify_all()


class HostStoppingError(RuntimeError):
    """A new invocation was asked for after the host began to stop."""


class FunctionTimeoutError(TimeoutError):
    """The invocation ran past host.json functionTimeout; the host failed it (its thread, if any, is abandoned)."""


class Invoker:
    def __init__(
        self,
        log: InvocationLog,
        outputs: OutputSink,
        *,
        max_workers: int | None = None,
        function_timeout: float | None = None,
    ) -> None:
        self.log = log
        self.function_timeout = function_timeout
        self._outputs = outputs
        self._max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self._loop.run_forever, name=f"{THREAD_PREFIX}event-loop", daemon=True
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self._max_workers, thread_name_prefix=f"{THREAD_PREFIX}invocation"
        )
        self._closed = False

    def start(self) -> None:
        self._loop_thread.start()

    def submit(self, spec: FunctionSpec, trigger_value: Any) -> concurrent.futures.Future[Outcome]:
        """Start an invocation; the future always resolves to an Outcome (failures are recorded, not raised)."""
        if self._closed:
            raise HostStoppingError(f"host is stopping; {spec.name} not invoked")
        return asyncio.run_coroutine_threadsafe(self._invoke(spec, trigger_value), self._loop)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Refuse new invocations; those in flight go on."""
        self._closed = True

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the event loop and the pool; call after in-flight invocations finished or were given up on.

        Invocations still running are cancelled, so every future `submit` returned is resolved and nobody waits on
        one for ever; a sync function's thread cannot be stopped and ends when the function returns.
        """
        self._closed = True
        if self._loop_thread.is_alive():
            cancelled = asyncio.run_coroutine_threadsafe(_cancel_other_tasks(), self._loop)
            with contextlib.suppress(concurrent.futures.TimeoutError):
                cancelled.result(timeout)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(timeout)
        if not self._loop_thread.is_alive() and not self._loop.is_closed():
            self._loop.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _invoke(self, spec: FunctionSpec, trigger_value: Any) -> Outcome:
        invocation_id = str(uuid.uuid4())
        started_at = datetime.now(UTC)
        began = time.perf_counter()
        self.log._begin()
        value: Any = None
        error: str | None = None
        try:
            try:
                value = await asyncio.wait_for(self._call(spec, trigger_value, invocation_id), self.function_timeout)
            except TimeoutError:
                limit = self.function_timeout
                raise FunctionTimeoutError(f"{spec.name} exceeded functionTimeout ({limit} s)") from None
        except Exception as exc:
            error = type(exc).__name__
            logger.error(
                "function failed",
                exc_info=exc,
                extra=fields(event="invocation_error", function=spec.name, invocation_id=invocation_id),
            )
        duration = time.perf_counter() - began
        record = Invocation(invocation_id, spec.name, spec.trigger_type, started_at, duration, error is None, error)
        logger.info(
            "invocation %s",
            "succeeded" if error is None else "failed",
            extra=fields(
                event="invocation",
                function=spec.name,
                trigger=spec.trigger_type,
                invocation_id=invocation_id,
                duration_ms=round(duration * 1000, 1),
                outcome="succeeded" if error is None else "failed",
                error=error,
            ),
        )
        self.log._end(record)
        return Outcome(record, value if error is None else None)

    async def _call(self, spec: FunctionSpec, trigger_value: Any, invocation_id: str) -> Any:
        outs = {o.arg_name: Out() for o in spec.outputs if o.arg_name != "$return"}
        kwargs: dict[str, Any] = {spec.trigger_arg: trigger_value, **outs}
        if spec.wants_context:
            kwargs["context"] = InvocationContext(invocation_id, spec.name)
        if spec.is_async:
            value = await spec.user_function(**kwargs)
        else:
            call = functools.partial(spec.user_function, **kwargs)
            value = await self._loop.run_in_executor(self._pool, contextvars.copy_context().run, call)
        for output in spec.outputs:
            out_value = value if output.arg_name == "$return" else outs[output.arg_name].get()
            if out_value is not None:
                await self._loop.run_in_executor(self._pool, self._outputs.write, output, out_value)
        return value


async def _cancel_other_tasks() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Out(func.Out[Any]):
    """The value an output binding parameter was set to."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class _TraceContext(func._abc.TraceContext):
    trace_state = ""
    trace_parent = ""
    attributes: dict[str, str] = {}  # noqa: RUF012 - read-only by contract, and never mutated here


class _RetryContext(func._abc.RetryContext):
    retry_count = 0
    max_retry_count = 0
    exception = None  # type: ignore[assignment]  # no retry policy runs locally, so there is no prior exception


class InvocationContext(func.Context):
    """`context` for functions that declare it, as the worker passes."""

    def __init__(self, invocation_id: str, function_name: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._local = threading.local()
        self._local.invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return os.getcwd()

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def trace_context(self) -> func._abc.TraceContext:
        return _TraceContext()

    @property
    def retry_context(self) -> func._abc.RetryContext:
        return _RetryContext()
