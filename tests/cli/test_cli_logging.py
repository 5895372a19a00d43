"""Without --verbose a warning on the command line reads as a sentence; with it, logs are JSON lines."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logging_setup import cli_logging, log_context


def test_warnings_are_readable_lines_and_verbose_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("shared.sync.importing.engine")
    cli_logging({}, verbose=False)
    with log_context(function="resync-update", run_id="r1"):
        log.error("import deletion guard: 60 bookings not deleted", extra={"user": "1080", "deletions": 60})
        log.info("not shown without --verbose")
    err = capsys.readouterr().err
    assert err == "error: import deletion guard: 60 bookings not deleted (user 1080, deletions 60)\n"

    cli_logging({}, verbose=True)
    log.warning("shown as JSON", extra={"user": "1080"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["msg"], line["user"], line["level"]) == ("shown as JSON", "1080", "warning")
    cli_logging({}, verbose=False)
