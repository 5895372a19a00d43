"""The demo's offline world and the context its steps share."""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.azurite import azurite
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.offline import product_settings
from sandbox.openair.control import SimulatorControl
from sandbox.processes import run_printing_url
from shared.domain.mappings import UserMapping
from shared.store.store import SyncStore

PUSH_SECRET = "demo-push-secret"  # the offline world's OPENAIR_PUSH_SECRET (and the form script's PushSecret)


@contextlib.contextmanager
def offline_world(*, incumbent: bool = False) -> Iterator[dict[str, str]]:
    """Azurite + both simulators; yields the app settings that point the product at them.

    `incumbent`: the mailboxes hold the Exchange Integration Manager's events, as at a customer's cutover.
    """
    python = sys.executable
    webhook_key, push_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # The demo's webhook is plain http on loopback, which Graph itself would refuse: the simulator allows it by flag.
    graph_args = ["--allow-http-loopback-webhooks", *(["--incumbent"] if incumbent else [])]
    with (
        azurite() as storage,
        run_printing_url([python, "-m", "sandbox.openair", "--port", "0"]) as openair,
        run_printing_url([python, "-m", "sandbox.graph", "--port", "0", *graph_args]) as graph,
    ):
        yield product_settings(
            storage.connection_string,
            openair.first_line,
            graph.first_line,
            EXPORT_SCHEDULE="0 */2 * * * *",
            IMPORT_SUBSCRIPTION_SCHEDULE="0 7 * * * *",
            IMPORT_RECONCILE_SCHEDULE="0 */15 * * * *",
            WEBHOOK_CLIENT_STATE=secrets.token_urlsafe(32),
            GRAPH_TENANT_ID="demo-tenant",
            GRAPH_CLIENT_ID="demo-client",
            OPENAIR_PUSH_SECRET=PUSH_SECRET,
            # The two keys outsiders hold, as `azd provision` creates them: host keys the app admits only on
            # their own routes (shared/access.py); the admin steps use the function key, which they refuse.
            **{"FUNCTIONS_HOST_KEY__graph-webhook": webhook_key, "FUNCTIONS_HOST_KEY__openair-push": push_key},
            WEBHOOK_FUNCTION_KEY=webhook_key,
            OPENAIR_PUSH_KEY=push_key,
        )


@dataclass
class DemoContext:
    """What every step can use, and where it reports: `result` becomes the final JSON line, `failures` the exit."""

    env: dict[str, str]
    host: LocalHost
    openair: SimulatorControl
    graph: GraphControl
    store: SyncStore
    mapped: dict[str, UserMapping] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
