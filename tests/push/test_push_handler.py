"""`POST /api/openair/changed` called as the worker calls it: a signed notice is queued and answered 202; a bad one
is a 4xx that says why, and queues nothing. (Through the local host with the form script: test_push_endpoint.py.)"""

from __future__ import annotations

import time

import pytest

import shared.runtime
from blueprints.push import openair_changed
from shared.jobs.contracts import RecordWork, decode
from shared.kinds import RecordKind
from shared.push import SIGNATURE_HEADER, notice_body, sign
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from tests.direct import Output, call, request

PUSH_SECRET = "test-push-secret"
PUSH_KEY = "test-push-key"


@pytest.fixture(autouse=True)
def app(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"OPENAIR_PUSH_SECRET": PUSH_SECRET, "OPENAIR_PUSH_KEY": PUSH_KEY}
    monkeypatch.setattr(shared.runtime, "_services", Services(env, EnvironmentSecrets(env)))


def headers(signature: str | None, key: str | None = PUSH_KEY) -> dict[str, str]:
    found = {"Content-Type": "application/json"}
    if signature is not None:
        found[SIGNATURE_HEADER] = signature
    if key is not None:
        found["x-functions-key"] = key
    return found


async def test_a_signed_notice_is_queued_and_answered_202() -> None:
    body = notice_body("Booking", "1081", "1080", int(time.time()), {"Project": "3"})
    work: Output[str] = Output()
    answer = await call(openair_changed, request("POST", "openair/changed", body=body,
                                                 headers=headers(sign(PUSH_SECRET, body))), work=work)  # fmt: skip
    assert answer.status_code == 202, answer.get_body()
    assert answer.mimetype == "application/json"
    assert answer.get_body() == b'{"accepted": true}'
    assert work.value is not None
    queued = decode(RecordWork, work.value)
    assert (queued.kind, queued.record_id, queued.user_hint) == (RecordKind.BOOKING, "1081", "1080")
    assert queued.refers_to == {"Project": "3"}


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("unsigned", 401, "X-OpenAir-Signature"),
        ("wrong secret", 401, "does not match"),
        ("stale", 401, "replay"),
        ("not json", 400, "malformed"),
        ("unknown type", 422, "unknown record type"),
        ("bad id", 400, "id"),
        ("no function key", 401, "does not open the push route"),
        ("another route's key", 401, "does not open the push route"),
    ],
)
async def test_bad_pushes_are_4xx_with_a_clear_message_and_enqueue_nothing(case: str, status: int, words: str) -> None:
    now = int(time.time())
    body = notice_body("Booking", "1081", "1080", now)
    signature: str | None = sign(PUSH_SECRET, body)
    key: str | None = PUSH_KEY
    if case == "unsigned":
        signature = None
    elif case == "wrong secret":
        signature = sign("not-the-secret", body)
    elif case == "stale":
        body = notice_body("Booking", "1081", "1080", now - 3600)
    elif case == "not json":
        body = b"type=Booking&id=1081"
    elif case == "unknown type":
        body = notice_body("Project", "1081", "1080", now)
    elif case == "bad id":
        body = notice_body("Booking", "1081; DROP", "1080", now)
    elif case == "no function key":
        key = None
    elif case == "another route's key":
        key = "the-host-key"
    if case in ("stale", "not json", "unknown type", "bad id"):
        signature = sign(PUSH_SECRET, body)
    work: Output[str] = Output()
    answer = await call(openair_changed, request("POST", "openair/changed", body=body, headers=headers(signature, key)),
                        work=work)  # fmt: skip
    assert answer.status_code == status, answer.get_body()
    text = answer.get_body().decode()
    assert words in text
    assert PUSH_SECRET not in text
    assert work.value is None  # nothing queued
