"""`PendingSaves`: a user's saves waiting in one worker are applied in one pass, and each gets its own answer;
`AppliedSaves`: a save a later pass already read needs no pass of its own."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from shared.jobs.contracts import RecordWork
from shared.kinds import RecordKind
from shared.push import AppliedSaves, PendingSaves


def save(record_id: str, user: str = "45") -> RecordWork:
    return RecordWork(kind=RecordKind.BOOKING, record_id=record_id, user_hint=user)


class Passes:
    """A pass that records which saves it was given; `fail` names records whose own result is an exception."""

    def __init__(self, *, fail: Sequence[str] = (), hold: asyncio.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = set(fail)
        self.hold = hold
        self.started = asyncio.Event()

    async def __call__(self, works: list[RecordWork]) -> list[str | Exception]:
        self.calls.append([w.record_id for w in works])
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        return [RuntimeError(w.record_id) if w.record_id in self.fail else f"done {w.record_id}" for w in works]


async def test_ten_saves_of_one_user_arriving_together_are_one_pass() -> None:
    pending, passes = PendingSaves(), Passes()
    results = await asyncio.gather(*(pending.apply("45", save(str(n)), passes) for n in range(10)))
    assert passes.calls == [[str(n) for n in range(10)]]
    assert results == [f"done {n}" for n in range(10)]


async def test_each_user_has_passes_of_their_own() -> None:
    pending, passes = PendingSaves(), Passes()
    await asyncio.gather(*(pending.apply(user, save(f"{user}{n}", user), passes) for n in range(3) for user in "12"))
    assert sorted(passes.calls) == [["10", "11", "12"], ["20", "21", "22"]]


async def test_a_save_that_arrives_during_a_pass_waits_for_the_next_one() -> None:
    """The pass running may have read the record before this save: only a pass that starts later covers it."""
    hold = asyncio.Event()
    pending, passes = PendingSaves(gather_seconds=0), Passes(hold=hold)
    first = asyncio.ensure_future(pending.apply("45", save("1"), passes))
    await passes.started.wait()
    later = [asyncio.ensure_future(pending.apply("45", save(n), passes)) for n in ("2", "3")]
    await asyncio.sleep(0.01)
    assert passes.calls == [["1"]]  # one pass at a time per user
    hold.set()
    assert await first == "done 1"
    assert await asyncio.gather(*later) == ["done 2", "done 3"]
    assert passes.calls == [["1"], ["2", "3"]]


async def test_a_failed_pass_fails_every_save_in_it_so_each_message_is_retried() -> None:
    pending = PendingSaves()

    async def unavailable(works: list[RecordWork]) -> list[str | Exception]:
        raise ConnectionError("OpenAir is down")

    results = await asyncio.gather(*(pending.apply("45", save(n), unavailable) for n in "123"), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError] * 3
    passes = Passes()
    assert await pending.apply("45", save("4"), passes) == "done 4"  # the user is not stuck behind the failure


async def test_one_saves_failure_is_its_own() -> None:
    pending, passes = PendingSaves(), Passes(fail=["2"])
    first, second, third = await asyncio.gather(
        *(pending.apply("45", save(n), passes) for n in "123"), return_exceptions=True
    )
    assert (first, third) == ("done 1", "done 3")
    assert isinstance(second, RuntimeError)
    assert passes.calls == [["1", "2", "3"]]


async def test_a_cancelled_save_does_not_break_the_pass_of_the_others() -> None:
    hold = asyncio.Event()
    pending, passes = PendingSaves(), Passes(hold=hold)
    impatient = asyncio.ensure_future(pending.apply("45", save("1"), passes))
    patient = asyncio.ensure_future(pending.apply("45", save("2"), passes))
    await passes.started.wait()
    impatient.cancel()  # the host's functionTimeout cancelled that invocation
    hold.set()
    assert await patient == "done 2"
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_saves_of_a_pass_cancelled_at_shutdown_are_cancelled_not_left_waiting() -> None:
    hold = asyncio.Event()
    pending, passes = PendingSaves(), Passes(hold=hold)
    running = asyncio.ensure_future(pending.apply("45", save("1"), passes))
    await passes.started.wait()
    waiting = asyncio.ensure_future(pending.apply("45", save("2"), passes))
    await asyncio.sleep(0)
    for task in list(pending._running):
        task.cancel()
    for save_ in (running, waiting):
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(save_, timeout=5)


def test_a_save_is_covered_only_by_a_read_that_started_after_it_arrived() -> None:
    applied = AppliedSaves(margin_seconds=1.0)
    stamp = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    applied.applied("booking:7", read_at=1000.0, updated=stamp)
    assert applied.covers("booking:7", received_at=998.0)
    assert not applied.covers("booking:7", received_at=999.5)  # within the clock margin: not trusted
    assert not applied.covers("booking:7", received_at=1001.0)  # saved after that read
    assert not applied.covers("booking:8", received_at=900.0)  # never read
    assert not applied.covers("booking:7", received_at=0.0)  # a message that does not say when it arrived
    assert applied.unchanged("booking:7", stamp)
    assert not applied.unchanged("booking:7", stamp + dt.timedelta(seconds=1))
    applied.applied("booking:7", read_at=900.0, updated=None)  # an older pass finishing late changes nothing
    assert applied.covers("booking:7", received_at=998.0)


def test_applied_saves_are_bounded() -> None:
    applied = AppliedSaves(max_records=3)
    for n in range(5):
        applied.applied(f"booking:{n}", read_at=100.0 + n, updated=None)
    assert [applied.covers(f"booking:{n}", received_at=50.0) for n in range(5)] == [False, False, True, True, True]
