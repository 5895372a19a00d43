"""The proof suite's session summary: how many scenarios and faults ran (see ledger.py)."""

from __future__ import annotations

import pytest

from tests.proof.ledger import summary_lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("proof under load and faults")
        for line in lines:
            terminalreporter.write_line(line)
