"""`python -m shared`: exit codes mean something (0 ok, 1 a failure found, 2 cannot run as asked), `--json` is
machine-readable, and the settings are the app's (local.settings.json Values, the environment on top)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.cli.main import load_environment, main
from tests.admin.live import Live, live_world


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_world(users=4) as world:
        yield world


def test_usage_errors_exit_2(live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "boxes.csv"
    csv.write_text("a@contoso.com,exch1\n")
    assert main(["mappings", "import-csv", str(csv)], environ=live.env) == 2
    assert "choose --add-new, --replace-existing, or both" in capsys.readouterr().err
    assert main(["mappings", "import-csv", str(tmp_path / "missing.csv"), "--add-new"], environ=live.env) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["--json", "resync", "--user", "nobody"], environ=live.env) == 2
    assert json.loads(capsys.readouterr().out)["error"].startswith("OpenAir user nobody has no row")
    assert main(["resync", "--all", "--mode", "recreate"], environ=live.env) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["resync", "--user", "nobody", "--mode", "recreate"], environ=live.env) == 2
    assert "recreate deletes user nobody's events" in capsys.readouterr().err
    assert main(["--json", "status", "--user", "nobody"], environ=live.env) == 2
    assert json.loads(capsys.readouterr().out)["error"].startswith("OpenAir user nobody has no row")
    assert main(["runs", "--run", "no-such-run"], environ=live.env) == 2
    with pytest.raises(SystemExit) as everyone:
        main(["resync"], environ=live.env)  # whom? --user or --all, never everyone by default
    assert everyone.value.code == 2
    assert main(["--settings", str(tmp_path / "nope.json"), "status"], environ=live.env) == 2
    assert (
        main(["status"], environ={**live.env, "GRAPH_MAX_IN_FLIGHT_PER_MAILBOX": "9", "AzureWebJobsStorage": ""}) == 2
    )
    with pytest.raises(SystemExit) as usage:
        main(["sync", "sideways"], environ=live.env)
    assert usage.value.code == 2


def test_check_passes_and_fails_with_a_message(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "check"], environ=live.env) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    wrong = {**live.env, "OPENAIR_PASSWORD": "wrong-password"}
    assert main(["--json", "check"], environ=wrong) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["OpenAir API"]["outcome"] == "failed"
    assert "password" in checks["OpenAir API"]["message"].lower()
    assert checks["Table storage"]["outcome"] == "ok"  # one failure never stops the other checks


def test_export_resync_status_and_csv_exit_codes(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", "sync", "export", "--dry-run"], environ=live.env) == 0
    preview = json.loads(capsys.readouterr().out)
    assert preview["counts"]["outbox_entries"] > 0
    assert main(["--json", "sync", "export"], environ=live.env) == 0
    done = json.loads(capsys.readouterr().out)
    assert all(m["status"] == "ok" for m in done["mailboxes"])
    assert sum(m["counts"].get("created", 0) for m in done["mailboxes"]) == preview["counts"]["outbox_entries"]
    # The dry run named, per mailbox, exactly the creates the real run made.
    assert {p["user"]: p["create"] for p in preview["preview"]} == {
        m["user_id"]: m["counts"]["created"] for m in done["mailboxes"]}  # fmt: skip
    user = sorted(live.store.load_mappings().users)[0]
    assert main(["--json", "resync", "--user", user, "--mode", "recreate", "--yes"], environ=live.env) == 0
    recreated = json.loads(capsys.readouterr().out)
    assert recreated["counts"]["events_deleted"] > 0
    code = main(["--json", "status"], environ=live.env)
    status = json.loads(capsys.readouterr().out)
    assert code == 0, (status["alerts"], status["problems"], [u["last_error"] for u in status["users"]])
    assert status["healthy"] is True
    assert status["recent_runs"][0]["kind"] == "resync-recreate"  # its mailbox worker is in the same row
    assert status["recent_runs"][0]["mailboxes"] == 1
    csv = tmp_path / "boxes.csv"
    csv.write_text("not-an-email,exch1\n")
    assert main(["mappings", "import-csv", str(csv), "--add-new"], environ=live.env) == 1
    assert "line 1: 'not-an-email' is not an email address" in capsys.readouterr().out
    assert main(["runs", "--limit", "3"], environ=live.env) == 0
    assert "Recent runs" in capsys.readouterr().out
    assert main(["--json", "runs", "--limit", "50"], environ=live.env) == 0
    export_run = next(r for r in json.loads(capsys.readouterr().out)["runs"] if r["kind"] == "export-plan")
    assert export_run["mailboxes"] == len(done["mailboxes"])  # one row for the run, not one per mailbox
    assert main(["--json", "runs", "--run", export_run["run_id"]], environ=live.env) == 0
    (drill,) = json.loads(capsys.readouterr().out)["runs"]
    assert sorted(m["user"] for m in drill["per_mailbox"]) == sorted(m["user_id"] for m in done["mailboxes"])


def test_settings_file_values_with_the_environment_on_top(tmp_path: Path) -> None:
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {"OPENAIR_USER": "from-file", "OPENAIR_COMPANY": "acme", "EMPTY": ""}}))
    env = load_environment(settings, {"OPENAIR_USER": "from-env"})
    assert env == {"OPENAIR_USER": "from-env", "OPENAIR_COMPANY": "acme"}


def test_module_entry_point_and_openapi() -> None:
    answer = subprocess.run([sys.executable, "-m", "shared", "openapi"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0
    assert json.loads(answer.stdout)["openapi"].startswith("3.")
    bad = subprocess.run([sys.executable, "-m", "shared", "nonsense"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_check_tries_the_webhook_handshake(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    webhook = {**live.env, "WEBHOOK_BASE_URL": live.host.base_url}
    # The administrators' key opens both Graph routes, but it opens the admin API too: not a key to hand to Graph
    # (tests/admin/test_key_separation.py has the deployment's separate keys, where this check passes).
    assert main(["--json", "check"], environ={**webhook, "WEBHOOK_FUNCTION_KEY": live.host.keys.function}) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["Webhook URL"]["outcome"] == "failed", checks["Webhook URL"]
    assert "opened /api/manage/status" in checks["Webhook URL"]["message"]
    assert main(["--json", "check"], environ=webhook) == 1  # no key: the function host refuses the handshake
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert "WEBHOOK_FUNCTION_KEY" in checks["Webhook URL"]["message"]


def test_cutover_asks_whom_and_confirmation_and_its_dry_run_writes_nothing(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as whom:
        main(["cutover"], environ=live.env)  # --user or --all, never everyone by default
    assert whom.value.code == 2
    assert main(["cutover", "--all"], environ=live.env) == 2
    assert "--dry-run first" in capsys.readouterr().err
    runs_before = len(live.store.recent_runs(200))
    assert main(["--json", "cutover", "--all", "--dry-run"], environ=live.env) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["users"] == len(live.store.load_mappings().users)
    assert report["dry_run"] is True
    assert report["mailboxes"] == []
    assert len(live.store.recent_runs(200)) == runs_before
