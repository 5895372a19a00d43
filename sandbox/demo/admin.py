"""Demo steps of the admin surface: map users through the admin endpoint, and end on `python -m shared status`.

The mapping goes over HTTP to the local function host with its function key, exactly as an administrator's
`curl` would; the status table is the command line's own output, run in a subprocess with the demo's settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx

from sandbox.demo.export import say
from sandbox.demo.world import DemoContext


def follow_operation(ctx: DemoContext, location: str, timeout: float = 300.0) -> dict[str, Any]:
    """Poll a queued admin operation (202 + Location) until it has finished; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(ctx.host.base_url + location, headers={"x-functions-key": ctx.host.keys.function},
                           timeout=30)  # fmt: skip
        found: dict[str, Any] = answer.json()
        if found.get("state") not in ("queued", "running") or time.monotonic() > deadline:
            return found
        time.sleep(1)


def step_map_users(ctx: DemoContext) -> None:
    say("\n1. Mapping OpenAir users to mailboxes by email (and aliases): POST /api/manage/mappings/refresh")
    answer = httpx.post(
        f"{ctx.host.base_url}/api/manage/mappings/refresh",
        headers={"x-functions-key": ctx.host.keys.function},
        json={},
        timeout=120,
    )
    body = answer.json()
    ctx.check(answer.status_code == 202, f"mappings refresh answered {answer.status_code}: {body}")
    if answer.status_code != 202:
        return
    body = follow_operation(ctx, answer.headers["location"])  # the refresh runs on the operations queue
    ctx.check(body.get("state") == "succeeded", f"mappings refresh ended {body}")
    if body.get("state") != "succeeded":
        return
    body = body["result"]
    unauthorized = httpx.post(f"{ctx.host.base_url}/api/manage/mappings/refresh", json={}, timeout=30)
    ctx.check(unauthorized.status_code == 401, "the admin endpoint answered without a function key")
    counts = body["counts"]
    say(f"  mapped {counts.get('new', 0)} users; {counts.get('unmatched', 0)} unmatched, "
        f"{counts.get('conflicts', 0)} conflicts (a dry run lists them)")  # fmt: skip
    say(f"  without the function key: {unauthorized.status_code}")
    ctx.result["mapping"] = body["counts"]
    ctx.mapped = ctx.store.load_mappings().users
    ctx.result["users_mapped"] = len(ctx.mapped)
    ctx.check(len(ctx.mapped) > 0, "no user was mapped")


def step_status(ctx: DemoContext) -> None:
    say("\nStatus: python -m shared status")
    command = [sys.executable, "-m", "shared", "status", "--runs", "5"]
    shown = subprocess.run(command, env={**os.environ, **ctx.env}, capture_output=True, text=True, timeout=120)
    say(shown.stdout.rstrip())
    data = subprocess.run([*command[:3], "--json", *command[3:]], env={**os.environ, **ctx.env},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    # 0 healthy, 1 something needs attention: both are a working status command.
    ctx.check(shown.returncode in (0, 1) and data.returncode in (0, 1), f"status failed: {shown.stderr[-500:]}")
    if data.returncode in (0, 1):
        status = json.loads(data.stdout)
        ctx.result.update(status_healthy=status["healthy"], status_users=len(status["users"]))


def status_page_line(ctx: DemoContext) -> str:
    """Where the status page is, with this run's host key (a key made up for this local run, opening every admin
    route as the admin key does on Azure); the page takes it out of the address bar once opened."""
    return f"Status page: {ctx.host.base_url}/api/manage/status-page?code={ctx.host.keys.host}"
