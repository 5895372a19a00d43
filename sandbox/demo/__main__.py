"""`make demo`: the product's main job, offline, end to end.

Starts Azurite, the OpenAir and Graph simulators (serving the same sample company) and the local function host
loaded from `function_app.py`; then runs the steps below in order. Ends with one JSON line and leaves no process
behind; exits non-zero when a step's check failed. Prints the status page's URL; with `--serve` (`make demo
SERVE=1`) the world stays up after the steps, so the page can be opened, until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable

from sandbox.demo import admin, cutover, export, importing, push
from sandbox.demo.world import DemoContext, offline_world
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.openair.control import SimulatorControl
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets

STEPS: list[Callable[[DemoContext], None]] = [
    admin.step_map_users,
    cutover.step_cutover_dry_run,
    *export.STEPS[:1],  # the first export: it adopts the incumbent's events
    cutover.step_cutover_outcome,
    *export.STEPS[1:],
    *push.STEPS,
    *importing.STEPS,
    admin.step_status,  # last: the status table after everything else ran
]


def main(argv: list[str] | None = None) -> int:
    serve = "--serve" in (sys.argv[1:] if argv is None else argv)
    export.say("Starting the offline world: Azurite, OpenAir simulator, Graph simulator, local function host …")
    with offline_world(incumbent=True) as env:
        os.environ.update(env)  # the function app reads its settings from the environment, as in Azure
        with LocalHost("function_app:app", env, timers=False) as host:
            ctx = DemoContext(
                env=env,
                host=host,
                openair=SimulatorControl(env["OPENAIR_BASE_URL"]),
                graph=GraphControl(env["GRAPH_BASE_URL"]),
                store=Services(env, EnvironmentSecrets(env)).store(),
            )
            export.say(f"  function host {host.base_url}: {', '.join(sorted(f.name for f in host.functions))}")
            for step in STEPS:
                step(ctx)
            export.say()
            export.say(admin.status_page_line(ctx))
            if serve:
                export.say("Serving until Ctrl-C (or SIGTERM) …")
                stop = threading.Event()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, lambda *_: stop.set())
                stop.wait()
                export.say("Stopping.")
    export.say()
    for failure in ctx.failures:
        export.say(f"CHECK FAILED: {failure}")
    print(json.dumps({"demo": "export", **ctx.result}), flush=True)
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
