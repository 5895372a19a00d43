"""Timer triggers: fire on the NCRONTAB schedule, on start-up if asked, and on demand.

One run at a time per timer, whatever started it: the real host holds a singleton lock (a blob lease) and
schedules the next occurrence only after the current run ends, so ticks that fall inside a long run are
skipped, not queued. A run that starts later than its scheduled time (it waited for the lock, or the
machine slept) gets `past_due=True`.

With a `ScheduleMonitor` (a folder the hosts of one app share, as Azure's hosts share the storage account's
`azure-webjobs-hosts` container), the host behaves as the platform does across restarts and instances
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#scale-out and
`useMonitor`): it remembers each timer's last and next occurrence; a host that starts after an occurrence was
missed (the app was down) runs it once, at once, past due — one catch-up, however many were missed; and of the
hosts that share the folder only one schedules the timer at all: its listener holds the timer's singleton lock
(a file lock stands in for the blob lease) while it runs, and a standby host takes over when that one stops.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.functions.timer import TimerRequest

from sandbox.host.invoker import HostStoppingError, Invoker, Outcome
from sandbox.host.loader import FunctionSpec
from sandbox.host.logs import fields, logger
from sandbox.host.threads import THREAD_PREFIX

PAST_DUE_TOLERANCE = timedelta(milliseconds=500)


class ScheduleMonitor:
    """Each timer's schedule status (Last, Next) and singleton lock, in a folder shared by the app's hosts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _status_file(self, name: str) -> Path:
        return self.folder / f"{name.lower()}.status.json"

    def status(self, name: str) -> dict[str, datetime] | None:
        try:
            raw = json.loads(self._status_file(name).read_text())
            return {key: datetime.fromisoformat(raw[key]) for key in ("Last", "Next")}
        except (OSError, ValueError, KeyError):
            return None

    def record(self, name: str, last: datetime, next_due: datetime) -> None:
        target = self._status_file(name)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps({"Last": last.isoformat(), "Next": next_due.isoformat()}))
        temporary.replace(target)

    def try_lock(self, name: str) -> int | None:
        """The timer's singleton lock for this occurrence, or None when another host holds it."""
        handle = os.open(self.folder / f"{name.lower()}.lock", os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return None
        return handle

    @staticmethod
    def unlock(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)


class TimerRunner:
    def __init__(
        self, spec: FunctionSpec, invoker: Invoker, *, scheduled: bool, monitor: ScheduleMonitor | None = None
    ) -> None:
        assert spec.timer is not None
        self.spec = spec
        self._schedule = spec.timer.schedule
        self._invoker = invoker
        self._scheduled = scheduled
        self._singleton = threading.Lock()
        self._stop = threading.Event()
        self._last: datetime | None = None
        self._monitor = monitor
        self._lease: int | None = None
        self.standby = False  # another host holds this timer's singleton lock
        self._thread = threading.Thread(target=self._loop, name=f"{THREAD_PREFIX}timer-{spec.name}", daemon=True)

    def start(self) -> None:
        if self._scheduled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.join(timeout=1)

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the schedule's thread to end (after `stop`; a run in progress ends with the invoker)."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    def fire(self) -> Outcome:
        """Run the timer now (waiting for a run in progress to end first); return when it has finished."""
        return self._run(datetime.now(UTC))

    def _loop(self) -> None:
        if self._monitor is not None:
            while (lease := self._monitor.try_lock(self.spec.name)) is None:
                self.standby = True
                if self._stop.wait(1.0):
                    return
            self._lease, self.standby = lease, False
        try:
            self._schedule_loop()
        except (HostStoppingError, concurrent.futures.CancelledError):
            pass  # the host stopped during a run: the schedule ends with it
        finally:
            if self._monitor is not None and self._lease is not None:
                self._monitor.unlock(self._lease)
                self._lease = None

    def _schedule_loop(self) -> None:
        status = self._monitor.status(self.spec.name) if self._monitor is not None else None
        if status is not None:
            self._last = status["Last"]
        if self.spec.timer is not None and self.spec.timer.run_on_startup:
            self._run(datetime.now(UTC))
        elif status is not None and status["Next"] < datetime.now(UTC):
            self._run(status["Next"])  # missed while the app was down: one catch-up run, past due
        while not self._stop.is_set():
            now = datetime.now(UTC)
            due = self._schedule.next_after(now)
            if self._stop.wait((due - now).total_seconds()):
                return
            self._run(due)

    def _run(self, due: datetime) -> Outcome:
        with self._singleton:
            started = datetime.now(UTC)
            past_due = started - due > PAST_DUE_TOLERANCE
            status = {
                "Last": (self._last or started).isoformat(),
                "Next": self._schedule.next_after(started).isoformat(),
                "LastUpdated": started.isoformat(),
            }
            request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": False})
            if past_due:
                logger.info(
                    "timer is past due",
                    extra=fields(event="timer_past_due", function=self.spec.name, due=due.isoformat()),
                )
            outcome = self._invoker.submit(self.spec, request).result()
            self._last = started
            if self._monitor is not None:
                self._monitor.record(self.spec.name, started, self._schedule.next_after(datetime.now(UTC)))
            return outcome
