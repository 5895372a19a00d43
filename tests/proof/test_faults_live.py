"""Faults over real HTTP: the OpenAir and Graph simulators and Azurite, through the real adapters and jobs.

Each scenario: a clean export; edits in OpenAir; a run under faults (429 storms with each Retry-After format,
503s, hangs past the timeout, dropped connections, OpenAir 556, 503, malformed XML, slow answers, and seeded
mixes of them); the faults stop; one more run (with the queue's redeliveries). The mailboxes must then equal a
reference tenant that saw the same edits without any fault: no duplicate, no lost edit, no stray deletion.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.proof import ledger
from tests.proof.live import Backbone, LiveTenant, backbone, edit_in_openair, tenant

Fault = Callable[[LiveTenant], None]


def graph_storm(fmt: str) -> Fault:
    def inject(t: LiveTenant) -> None:
        # The simulator's own per-mailbox budget: every request past 3 a second is 429 with Retry-After in `fmt`.
        t.graph.set_options(mailbox_budget=3, budget_window_s=1.0, retry_after_format=fmt)

    return inject


def graph_fault(kind: str, count: int, **kw: Any) -> Fault:
    def inject(t: LiveTenant) -> None:
        t.graph.add_fault(kind, count=count, **kw)

    return inject


def openair_fault(kind: str, count: int, **kw: Any) -> Fault:
    def inject(t: LiveTenant) -> None:
        t.openair.inject(kind, count, **kw)

    return inject


FAULTS: dict[str, Fault] = {
    "graph-429-storm-integer": graph_storm("integer"),
    "graph-429-storm-decimal": graph_storm("decimal"),
    "graph-429-storm-http-date": graph_storm("http-date"),
    "graph-429-retry-after-decimal": graph_fault("status", 8, status=429, retry_after=0.25),
    "graph-503": graph_fault("status", 6, status=503, retry_after=0.1),
    "graph-503-no-retry-after": graph_fault("status", 3, status=503),
    "graph-504-on-batch": graph_fault("status", 4, status=504, path=r"\$batch"),
    "graph-hang-past-timeout": graph_fault("hang", 2, seconds=3.0),
    "graph-connection-dropped": graph_fault("close", 3),
    "openair-556": openair_fault("rate_limit", 3),
    "openair-503": openair_fault("http", 2, status=503),
    "openair-malformed": openair_fault("malformed", 2),
    "openair-slow-past-timeout": openair_fault("slow", 1, seconds=3.0),
}


def stop_faults(t: LiveTenant) -> None:
    t.graph.clear_faults()
    t.graph.set_options(mailbox_budget=10_000, budget_window_s=600.0, retry_after_format="decimal")
    t.openair.clear_faults()


def story(t: LiveTenant, faults: list[str]) -> dict[str, Any]:
    t.export(attempts=2)
    assert not t.failures, t.failures
    edit_in_openair(t)
    before = t.graph.counters().get("statuses", {})
    for name in faults:
        FAULTS[name](t)
    t.export(attempts=2)
    fired = _fired(before, t.graph.counters().get("statuses", {}))
    stop_faults(t)
    t.export(attempts=3)  # after the faults: one run, and the queue's redeliveries
    assert not t.queue, f"messages still failing after the faults stopped: {t.failures[-3:]}"
    for name in faults:
        ledger.fault(name)
    ledger.fault("graph error answers observed", fired)
    return t.snapshot()


def _fired(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(max(0, int(n) - int(before.get(s, 0))) for s, n in after.items() if str(s)[:1] in "45")


@pytest.fixture(scope="module")
def bb() -> Iterator[Backbone]:
    with backbone() as started:
        yield started


@pytest.fixture(scope="module")
def reference(bb: Backbone) -> dict[str, Any]:
    with tenant(bb) as clean:
        snapshot = story(clean, [])
    assert sum(len(v) for v in snapshot.values()) >= 10
    return snapshot


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_one_fault_then_one_run_converges(fault: str, bb: Backbone, reference: dict[str, Any]) -> None:
    with tenant(bb) as faulty:
        assert story(faulty, [fault]) == reference
    ledger.scenario(f"live export: {fault}")


SEEDS = range(30 if ledger.DEEP else 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_fault_mixes_converge(seed: int, bb: Backbone, reference: dict[str, Any]) -> None:
    rng = random.Random(seed)
    faults = rng.sample(sorted(FAULTS), k=rng.randint(2, 4))
    with tenant(bb) as faulty:
        assert story(faulty, faults) == reference, f"seed {seed}: {faults}"
    ledger.scenario("live export: seeded fault mix")
