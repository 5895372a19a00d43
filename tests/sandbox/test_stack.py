"""`python -m sandbox.stack`: one command starts the whole local world, says how to use it, and stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.processes import ROOT
from shared.cli.main import main


def test_the_local_stack_starts_prints_what_to_use_and_stops_cleanly(tmp_path: Path) -> None:
    settings = tmp_path / "stack.json"
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.stack", "--port", "0", "--settings-out", str(settings)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not lines or lines[-1] != "ready"):
            line = proc.stdout.readline()
            assert line, f"the stack exited early: {lines}"
            lines.append(line.rstrip("\n"))
        url, shown = lines[0], "\n".join(lines)
        values = json.loads(settings.read_text())["Values"]
        for needle in ("/api/manage/status", "status-page?code=", values["FUNCTIONS_HOST_KEY"],
                       values["OPENAIR_BASE_URL"], values["GRAPH_BASE_URL"], "AzureWebJobsStorage=",
                       values["EXPORT_SCHEDULE"], f"--settings {settings}"):  # fmt: skip
            assert needle in shown, needle
        status = httpx.get(f"{url}/api/manage/status", headers={"x-functions-key": values["FUNCTIONS_HOST_KEY"]},
                           timeout=60)  # fmt: skip
        assert status.status_code == 200
        assert len(status.json()["users"]) > 0  # the sample company is mapped
        assert main(["--settings", str(settings), "--json", "runs"], environ={}) == 0  # the CLI, same world
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=90)
    assert code == 0


def test_azurite_and_the_command_line_explain_themselves_from_any_directory(tmp_path: Path) -> None:
    helped = subprocess.run([sys.executable, "-m", "sandbox.azurite", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert helped.returncode == 0
    assert "AzureWebJobsStorage" in helped.stdout
    command = Path(sys.executable).parent / "openair-sync"  # installed by make setup (pip install -e .)
    answer = subprocess.run([str(command), "openapi"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["openapi"].startswith("3.")
    usage = subprocess.run([str(command), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert usage.stdout.startswith("usage: openair-sync")
