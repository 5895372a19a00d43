"""Timer triggers: fire on the NCRONTAB schedule, on start-up if asked, and on demand.

One run at a time per timer, whatever started it: the real host holds a singleton lock (a blob lease) and
schedules the next occurrence only after the current run ends, so ticks that fall inside a long run are
skipped, not queued. A run that starts later than its scheduled time (it waited for the lock, or the
machine slept) gets `past_due=True`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from sandbox.host.invoker import Invoker, Outcome
from sandbox.host.loader import FunctionSpec
from sandbox.host.logs import fields, logger

PAST_DUE_TOLERANCE = timedelta(milliseconds=500)


class TimerRunner:
    def __init__(self, spec: FunctionSpec, invoker: Invoker, *, scheduled: bool) -> None:
        assert spec.timer is not None
        self.spec = spec
        self._schedule = spec.timer.schedule
        self._invoker = invoker
        self._scheduled = scheduled
        self._singleton = threading.Lock()
        self._stop = threading.Event()
        self._last: datetime | None = None
        self._thread = threading.Thread(target=self._loop, name=f"timer-{spec.name}", daemon=True)

    def start(self) -> None:
        if self._scheduled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1)

    def fire(self) -> Outcome:
        """Run the timer now (waiting for a run in progress to end first); return when it has finished."""
        return self._run(datetime.now(UTC))

    def _loop(self) -> None:
        if self.spec.timer is not None and self.spec.timer.run_on_startup:
            self._run(datetime.now(UTC))
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
            return outcome
