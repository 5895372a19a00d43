"""The OpenAir form script, run by Node: its own `node --test` suite, and its output checked by our verifier."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.kinds import RecordKind
from shared.push import PushRefused, verify_push

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# Loads the script as OpenAir would call it (fake NSOA), prints what it posted.
CAPTURE = """
const posts = [];
global.NSOA = {
  form: { getNewRecord: () => ({ id: 321, userid: 77, projecttaskid: 5, planned_hours: 8 }) },
  context: { getParameter: (name) => ({ PushUrl: 'https://x/api/openair/changed', PushSecret: process.argv[1],
                                        FunctionKey: 'k' })[name] },
  https: { post: (request) => { posts.push(request); return { code: '202' }; } },
  meta: { log: () => true },
};
require(process.argv[2]).afterSaveTaskAssignment('new');
process.stdout.write(JSON.stringify(posts));
"""


def test_node_suite_passes() -> None:
    done = subprocess.run(
        [str(NODE), "--test", str(ROOT / "tests" / "push" / "after_save.test.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout


def _posted(secret: str) -> dict[str, object]:
    done = subprocess.run(
        [str(NODE), "-e", CAPTURE, secret, str(ROOT / "form_script" / "after_save.js")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    (request,) = json.loads(done.stdout)
    assert isinstance(request, dict)
    return request


def test_python_verifier_accepts_what_the_script_posts() -> None:
    secret = "shared secret with ünïcode"
    request = _posted(secret)
    headers = request["headers"]
    assert isinstance(headers, dict)
    body = str(request["body"]).encode()
    notice = verify_push(
        body, headers["X-OpenAir-Signature"], secret=secret, now=dt.datetime.now(dt.UTC), max_age_seconds=300
    )
    assert (notice.kind, notice.id, notice.user_id) == (RecordKind.TASK_ASSIGNMENT, "321", "77")
    with pytest.raises(PushRefused) as refused:
        verify_push(body, headers["X-OpenAir-Signature"], secret="other", now=dt.datetime.now(dt.UTC),
                    max_age_seconds=300)  # fmt: skip
    assert refused.value.status == 401
