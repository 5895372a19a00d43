"""`LocalHost`: the function app, run in this process as its decorators declare it.

Starts, in threads: the invoker (event loop + thread pool), the HTTP front end, a scheduler per timer and a
listener per queue trigger. `stop()` stops accepting (HTTP socket closed, timers and queue polling
stopped), waits up to `drain_timeout` for invocations in flight and messages being processed, then shuts the rest
down: what still runs is cancelled and open connections are closed, so no thread of the host outlives it (each is
named `host-…`; the test session checks, tests/conftest.py).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import azure.functions as func

from sandbox.host.hostjson import HostConfig
from sandbox.host.http import DEFAULT_MAX_BODY_BYTES, HTTP_RESPONSE_LIMIT, HttpFrontEnd
from sandbox.host.invoker import HostStoppingError, Invocation, InvocationLog, Invoker
from sandbox.host.keys import HostKeys
from sandbox.host.loader import AppIndex, FunctionSpec, index_app, load_app
from sandbox.host.logs import fields, logger
from sandbox.host.queues import QueueAccounts, QueueListener, QueueOutputs, wait_until_drained
from sandbox.host.settings import AppSettings
from sandbox.host.threads import THREAD_PREFIX
from sandbox.host.timers import ScheduleMonitor, TimerRunner


class FunctionNotFoundError(LookupError):
    """No function of that name, or not of the kind the call needs."""


class LocalHost:
    """Run a FunctionApp locally: `with LocalHost(app, settings) as host: httpx.get(host.base_url + ...)`."""

    def __init__(
        self,
        app: func.FunctionApp | str = "function_app:app",
        settings: Mapping[str, str] | None = None,
        *,
        host_json: Path | Mapping[str, Any] | None = Path("host.json"),
        host: str = "127.0.0.1",
        port: int = 0,
        timers: bool = True,
        queues: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        drain_timeout: float = 30.0,
        http_response_limit: float = HTTP_RESPONSE_LIMIT,
        http_cut_status: int = 502,
        schedule_monitor: Path | None = None,
    ) -> None:
        self.settings = AppSettings(settings) if settings is not None else AppSettings.load(Path("local.settings.json"))
        self.config = HostConfig.load(host_json, self.settings)
        self.app = load_app(app) if isinstance(app, str) else app
        self.index: AppIndex = index_app(self.app, self.settings)
        self.keys = HostKeys.from_settings(self.settings)
        self.invocations = InvocationLog()
        self.drain_timeout = drain_timeout
        self._accounts = QueueAccounts(self.settings)
        self._outputs = QueueOutputs(self._accounts, self.config.queues)
        threads = self.settings.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
        self._invoker = Invoker(
            self.invocations,
            self._outputs,
            max_workers=int(threads) if threads else None,
            function_timeout=self.config.function_timeout,
        )
        self._http = HttpFrontEnd(
            self.index.of_type("httpTrigger"),
            self._invoker,
            self.keys,
            route_prefix=self.config.route_prefix,
            admin_invoke=self._admin_invoke,
            host=host,
            port=port,
            max_body_bytes=max_body_bytes,
            response_limit=http_response_limit,
            cut_status=http_cut_status,
        )
        # Shared by the hosts of one app, like the storage account's schedule status and timer leases.
        monitor = ScheduleMonitor(schedule_monitor) if schedule_monitor is not None else None
        self._timers = {
            spec.name.lower(): TimerRunner(spec, self._invoker, scheduled=timers, monitor=monitor)
            for spec in self.index.of_type("timerTrigger")
        }
        self._queues_enabled = queues
        self._listeners: list[QueueListener] = []
        self._started = False

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def functions(self) -> tuple[FunctionSpec, ...]:
        return self.index.functions

    def start(self) -> LocalHost:
        for skipped in self.index.skipped:
            log = logger.error if skipped.in_error else logger.warning
            log(
                "function not loaded",
                extra=fields(event="function_skipped", function=skipped.name, reason=skipped.reason),
            )
        self._invoker.start()
        if self._queues_enabled:
            # Create the queues before serving, so a message sent right after start-up is not lost to a 404.
            self._listeners = [
                QueueListener(spec, self._accounts, self._invoker, self.config.queues)
                for spec in self.index.of_type("queueTrigger")
            ]
            for listener in self._listeners:
                self._outputs.watch(listener)
                listener.start()
        self._http.start()
        for runner in self._timers.values():
            runner.start()
        self._started = True
        logger.info(
            "host started",
            extra=fields(
                event="host_started",
                url=self.base_url,
                functions=[f"{spec.name} ({spec.trigger_type})" for spec in self.functions],
            ),
        )
        return self

    def stop(self) -> bool:
        """Stop accepting work and wait for invocations in flight; False if some did not end in time."""
        if not self._started:
            return True
        self._started = False
        self._http.stop_accepting()
        for runner in self._timers.values():
            runner.stop()
        for listener in self._listeners:
            listener.stop_receiving()
        # Drained: no invocation runs and every message received is done with (one a worker took but had not yet
        # handed to the invoker is not an invocation yet).
        deadline = time.monotonic() + self.drain_timeout
        drained = all(listener.wait_released(deadline - time.monotonic()) for listener in self._listeners)
        drained = self.invocations.wait_idle(max(0.0, deadline - time.monotonic())) and drained
        self._invoker.close()
        self._invoker.shutdown()  # cancels what still runs: no worker below waits on it
        for listener in self._listeners:
            listener.shutdown()
        for runner in self._timers.values():
            runner.join()
        self._http.close_connections()
        if not drained:
            logger.warning(
                "invocations still running at stop",
                extra=fields(event="host_stopped", in_flight=self.invocations.in_flight),
            )
        logger.info("host stopped", extra=fields(event="host_stopped"))
        return drained

    def __enter__(self) -> LocalHost:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def fire_timer(self, name: str) -> Invocation:
        """Run a timer function now, after any run in progress (one at a time); return its invocation."""
        runner = self._timers.get(name.lower())
        if runner is None:
            raise FunctionNotFoundError(f"no timer function named {name!r}; timers: {sorted(self._timers)}")
        return runner.fire().invocation

    def drain_queues(self, timeout: float = 30.0) -> None:
        """Wait until every trigger queue is empty and no invocation is in flight; TimeoutError otherwise."""
        wait_until_drained(self._listeners, lambda: self.invocations.in_flight == 0, timeout)

    def _admin_invoke(self, name: str, payload: str) -> int:
        spec = self.index.by_name(name)
        if spec is None:
            return 404
        try:
            if spec.trigger_type == "timerTrigger":
                if self._invoker.closed:
                    return 503
                runner = self._timers[spec.name.lower()]
                name = f"{THREAD_PREFIX}admin-{spec.name}"
                threading.Thread(target=_fire_unless_stopping, args=(runner,), name=name, daemon=True).start()
                return 202
            if spec.trigger_type == "queueTrigger":
                # The real admin API hands `input` to the function as the message; nothing is queued.
                self._invoker.submit(spec, func.QueueMessage(body=payload))
                return 202
        except HostStoppingError:
            return 503
        return 400  # HTTP functions are called on their own route


def _fire_unless_stopping(runner: TimerRunner) -> None:
    """A timer run asked for through the admin API; the host stopping ends it, as it ends the schedule's runs."""
    with contextlib.suppress(HostStoppingError, concurrent.futures.CancelledError):
        runner.fire()
