"""A tally of the scenarios and faults the proof suite exercised, printed at the end of the session.

Tests call `scenario(...)` once per scenario they drive to convergence and `fault(kind, n)` for every fault they
inject (or every fault the simulators report having fired), so the summary counts what really happened.
"""

from __future__ import annotations

import os
from collections import Counter

SCENARIOS: Counter[str] = Counter()
FAULTS: Counter[str] = Counter()

# `HYPOTHESIS_PROFILE=deep` (or PROOF_DEEP=1) runs every loop of the suite longer: more seeds, more crash points.
DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep" or os.environ.get("PROOF_DEEP") == "1"


def scenario(name: str) -> None:
    SCENARIOS[name] += 1


def fault(kind: str, count: int = 1) -> None:
    if count:
        FAULTS[kind] += count


def summary_lines() -> list[str]:
    if not SCENARIOS and not FAULTS:
        return []
    lines = [f"proof: {sum(SCENARIOS.values())} scenarios driven to a checked end, "
             f"{sum(FAULTS.values())} faults injected{' (deep)' if DEEP else ''}"]  # fmt: skip
    lines += [f"  scenario {name}: {n}" for name, n in sorted(SCENARIOS.items())]
    lines += [f"  fault {name}: {n}" for name, n in sorted(FAULTS.items())]
    return lines
