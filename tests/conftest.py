"""Shared fixtures: Azurite on free ports (stopped by PID), Hypothesis profiles; no local-host thread outlives the
session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from sandbox.azurite import Azurite, azurite
from sandbox.host.threads import host_threads

# CI runs a bounded profile so `make test` stays within its time budget; locally `HYPOTHESIS_PROFILE=deep`
# runs the long randomized searches.
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def azurite_service() -> Iterator[Azurite]:
    """One in-memory Azurite (table + queue) per test session, on free loopback ports."""
    with azurite() as service:
        yield service


@pytest.fixture(scope="session", autouse=True)
def no_host_thread_outlives_the_session() -> Iterator[None]:
    """Fails the session when a thread of a local host is still running at its end: every LocalHost a test starts
    must be stopped, and a stopped host must leave nothing behind (a worker left running logs into streams pytest
    has closed, and keeps the interpreter from exiting)."""
    yield
    alive = host_threads(grace=5.0)
    assert not alive, f"local-host threads still running at the end of the session: {sorted(t.name for t in alive)}"
