"""Where a benchmark's time goes: per-layer call timers around the ports, and CPU seconds per process.

`Timed(adapter, clock)` stands in for an OpenAir source, a calendar gateway or a table backend: every method
call (coroutine, plain call, or iterator such as a table query) adds its duration to `clock`. Calls overlap when
workers run concurrently, so a layer's seconds are *busy time summed over calls*, not a share of the wall time:
compare layers with each other, and with the wall time times the worker count.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LayerClock:
    name: str
    calls: int = 0
    seconds: float = 0.0
    by_method: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, method: str, seconds: float, *, call: bool = True) -> None:
        """Charge `seconds` to `method`; `call=False` adds time to a call already counted (a query's pages)."""
        with self._lock:  # table calls run in worker threads (asyncio.to_thread)
            self.seconds += seconds
            if call:
                self.calls += 1
                self.by_method[method] = self.by_method.get(method, 0) + 1

    def reset(self) -> None:
        with self._lock:
            self.calls, self.seconds, self.by_method = 0, 0.0, {}

    def figures(self) -> dict[str, Any]:
        busiest = sorted(self.by_method.items(), key=lambda item: -item[1])[:4]
        return {"calls": self.calls, "busy_s": round(self.seconds, 2), "top_calls": dict(busiest)}


def _timed_iterator(items: Iterator[Any], clock: LayerClock, method: str) -> Iterator[Any]:
    spent = 0.0
    try:
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                spent += time.perf_counter() - started
                return
            spent += time.perf_counter() - started
            yield item
    finally:
        clock.add(method, spent, call=False)  # the call itself was counted when it was made


class Timed:
    """A transparent proxy that charges every method call of `target` to `clock`."""

    def __init__(self, target: Any, clock: LayerClock) -> None:
        self._target = target
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute
        clock = self._clock
        if inspect.iscoroutinefunction(attribute):

            @functools.wraps(attribute)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await attribute(*args, **kwargs)
                finally:
                    clock.add(name, time.perf_counter() - started)

            return timed_coroutine

        @functools.wraps(attribute)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = attribute(*args, **kwargs)
            finally:
                clock.add(name, time.perf_counter() - started)
            if inspect.isgenerator(result) or (isinstance(result, Iterator) and not isinstance(result, list)):
                return _timed_iterator(result, clock, name)
            return result

        return timed_call


def process_group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group (a simulator, Azurite's node)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        # After the command name: state ppid pgrp ... utime(14th field overall) stime(15th).
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class CpuMeter:
    """CPU seconds spent between `start()` and `figures()` by this process and by named process groups."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups
        self._base: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {"bench_process": time.process_time()}
        now.update({name: process_group_cpu_seconds(pgid) for name, pgid in self.groups.items()})
        return now

    def start(self) -> None:
        self._base = self._now()

    def figures(self) -> dict[str, float]:
        return {name: round(value - self._base.get(name, 0.0), 1) for name, value in self._now().items()}


def layer_figures(clocks: list[LayerClock]) -> dict[str, Any]:
    return {clock.name: clock.figures() for clock in clocks}
