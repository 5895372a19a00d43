"""`make test` finds or installs the Chromium the browser tests drive (Makefile target `chromium`), on a machine
without one: as root with apt-get it installs Debian's package; otherwise it stops and says what to do. Run with a
PATH of stand-ins (no Chromium on it, a recording apt-get, an `id` answering the user id asked for)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox.processes import ROOT


def stand_ins(tmp_path: Path, *, uid: int, apt: bool) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if apt:
        (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "apt.log"}\n')
    for name in os.listdir(bin_dir):
        (bin_dir / name).chmod(0o755)
    return bin_dir


def make_chromium(bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make
    clean = {k: v for k, v in os.environ.items() if k != "CHROMIUM"}
    return subprocess.run([make, "-s", "chromium"], cwd=ROOT, env={**clean, "PATH": str(bin_dir), **env},
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_as_root_with_apt_it_installs_the_distribution_package(tmp_path: Path) -> None:
    done = make_chromium(stand_ins(tmp_path, uid=0, apt=True))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "apt.log").read_text().splitlines() == ["update -qq", "install -y -qq chromium"]


@pytest.mark.parametrize(("uid", "apt"), [(1000, True), (0, False)])
def test_otherwise_it_stops_and_says_what_to_install(tmp_path: Path, uid: int, apt: bool) -> None:
    done = make_chromium(stand_ins(tmp_path, uid=uid, apt=apt))
    assert done.returncode != 0
    assert "apt-get install -y chromium" in done.stdout
    assert not (tmp_path / "apt.log").exists()


def test_a_chromium_named_in_the_environment_is_used_as_it_is(tmp_path: Path) -> None:
    done = make_chromium(stand_ins(tmp_path, uid=1000, apt=True), CHROMIUM="/opt/some/chromium")
    assert done.returncode == 0
    assert not (tmp_path / "apt.log").exists()
