"""The run recorder: every job's run is one row of the Runs table, written here, by the rules written here.

- Status: `shared.domain.runs.status_of` (beside `RunRecord`, so the engine's one run row, the first-export
  cutover's, follows it too): `blocked` when a guard stopped the run's writes (the deletion budget, an import
  alert), `partial` when some of its work failed or was left out, `ok` otherwise. Runs that have not ended yet (a
  queued or running admin operation), were refused (`paused`) or could not start (`failed`) say so themselves.
- Poison (`Run.poisoned_when_final`): a failed attempt at a queue message is final when the message can never
  succeed (`BadMessage`) or when the host will not deliver it again (its dequeue count reached
  maxDequeueCount, host.json); only then is the run recorded, as `poison`, before the host moves the message to
  `<queue>-poison`. Earlier failures raise without a row: the next attempt may succeed.
- Logs: inside `with Run(...)` every record logged (ours, the engine's, the SDKs', in threads too) carries the
  run's id and user as `sync_run_id` and `sync_user` (shared/logging_setup.py), from the moment the run knows
  them (`Run.about`): a run's lines can be found in Application Insights by its id from the Runs table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Literal, Protocol

from shared.domain.runs import RunRecord
from shared.errors import BadMessage
from shared.jobs.contracts import user_of
from shared.logging_setup import log_context
from shared.store.offload import off_loop

log = logging.getLogger(__name__)

Queued = Literal["export", "export-record", "import"]  # the workers whose messages can be poisoned


class RunLog(Protocol):
    """Where runs are kept (the Runs table, `SyncStore.record_run`)."""

    def record_run(self, run: RunRecord) -> None: ...


def is_final(exc: BaseException, *, attempts: int, max_attempts: int) -> bool:
    """Whether this failed attempt is the message's last: it can never succeed, or the host gives up after it."""
    return isinstance(exc, BadMessage) or attempts >= max_attempts


class Run:
    """One run of one job: its kind, id, user and start; records its row and stamps the logs written within it."""

    def __init__(self, runs: RunLog, kind: str, *, run_id: str = "", user_id: str = "",
                 started: dt.datetime | None = None) -> None:  # fmt: skip
        self.runs = runs
        self.kind = kind
        self.run_id = run_id
        self.user_id = user_id
        self.started = started or dt.datetime.now(dt.UTC)
        self._context = contextlib.ExitStack()

    def __enter__(self) -> Run:
        self._context.enter_context(log_context(run_id=self.run_id, user=self.user_id))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._context.close()

    def about(self, *, run_id: str = "", user_id: str = "") -> None:
        """What the run learnt once its message was read or its plan made; the records logged from now on carry it."""
        self.run_id = run_id or self.run_id
        self.user_id = user_id or self.user_id
        self._context.enter_context(log_context(run_id=run_id, user=user_id))

    def outcome(self, status: str, *, counts: Mapping[str, int] | None = None, errors: Iterable[str] = (),
                alerts: Iterable[str] = (), run_id: str = "", kind: str = "", user_id: str | None = None,
                finished: dt.datetime | None = None) -> RunRecord:  # fmt: skip
        """The run's row (not written); `run_id`, `kind` and `user_id` name a row other than the run's own."""
        return RunRecord(run_id=run_id or self.run_id, kind=kind or self.kind, started=self.started,
                         finished=finished or dt.datetime.now(dt.UTC), status=status, counts=dict(counts or {}),
                         errors=tuple(errors), alerts=tuple(alerts),
                         user_id=self.user_id if user_id is None else user_id)  # fmt: skip

    def record(self, status: str, *, counts: Mapping[str, int] | None = None, errors: Iterable[str] = (),
               alerts: Iterable[str] = (), run_id: str = "", kind: str = "", user_id: str | None = None,
               finished: dt.datetime | None = None) -> RunRecord:  # fmt: skip
        """Write the run's row (the same run id written again replaces it) and return it."""
        run = self.outcome(status, counts=counts, errors=errors, alerts=alerts, run_id=run_id, kind=kind,
                           user_id=user_id, finished=finished)  # fmt: skip
        self.runs.record_run(run)
        return run

    async def record_off_loop(self, status: str, *, counts: Mapping[str, int] | None = None,
                              errors: Iterable[str] = (), alerts: Iterable[str] = (), run_id: str = "",
                              kind: str = "", user_id: str | None = None,
                              finished: dt.datetime | None = None) -> RunRecord:  # fmt: skip
        """`record` from async code: the table call runs on a worker thread (shared/store/offload.py)."""
        write = functools.partial(self.record, status, counts=counts, errors=errors, alerts=alerts, run_id=run_id,
                                  kind=kind, user_id=user_id, finished=finished)  # fmt: skip
        return await off_loop(write)

    @contextlib.asynccontextmanager
    async def poisoned_when_final(self, body: bytes | str, *, attempts: int, max_attempts: int, poison_id: str,
                                  what: Queued) -> AsyncIterator[None]:  # fmt: skip
        """Around a queue worker's work: a final failure is recorded as `poison` (under `poison_id`, and the user
        the message names when it can be read), then raised as every failure is, for the host to act on."""
        try:
            yield
        except Exception as exc:
            if is_final(exc, attempts=attempts, max_attempts=max_attempts):
                user = user_of(body)
                self.about(run_id=poison_id, user_id=user)
                await self.record_off_loop("poison", errors=(describe(exc),), counts={"attempts": attempts},
                                           user_id=user)  # fmt: skip
                _log_poisoned(what, {"user": user, "attempts": attempts})
            raise


def _log_poisoned(what: Queued, extra: dict[str, object]) -> None:
    # The alert rule `poison-messages` (infra/app/alerts.bicep) matches these lines word for word.
    if what == "export":
        log.error("export message poisoned", extra=extra)
    elif what == "export-record":
        log.error("export-record message poisoned", extra=extra)
    else:
        log.error("import message poisoned", extra=extra)


def describe(exc: BaseException) -> str:
    """How a failure reads in a run's errors: its kind and message."""
    return f"{type(exc).__name__}: {exc}"
