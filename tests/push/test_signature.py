"""`shared.push`: signature, replay window, bad bodies, unknown types — each refused with its own status."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from shared.kinds import RecordKind
from shared.push import MAX_BODY_BYTES, PushRefused, notice_body, sign, verify_push

SECRET = "push-secret"
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def verify(body: bytes, signature: str | None = "", *, now: dt.datetime = NOW) -> object:
    signature = sign(SECRET, body) if signature == "" else signature
    return verify_push(body, signature, secret=SECRET, now=now, max_age_seconds=300)


def refused(body: bytes, signature: str | None = "", *, now: dt.datetime = NOW) -> PushRefused:
    with pytest.raises(PushRefused) as caught:
        verify(body, signature, now=now)
    return caught.value


def test_a_signed_fresh_notice_is_accepted() -> None:
    body = notice_body("Schedulerequest", "6", "45", int(NOW.timestamp()) - 20)
    notice = verify(body)
    assert notice == verify(body)  # pure: the same body verifies the same way twice
    assert getattr(notice, "kind") is RecordKind.SCHEDULE_REQUEST  # noqa: B009


def test_the_body_matches_the_scripts_json_stringify() -> None:
    assert notice_body("Booking", "1", "2", 3) == b'{"type":"Booking","id":"1","user_id":"2","timestamp":3}'
    assert notice_body("Booking", "1", "2", 3, {"Projecttask": "9", "Project": "4"}) == (
        b'{"type":"Booking","id":"1","user_id":"2","timestamp":3,"refers_to":{"Projecttask":"9","Project":"4"}}'
    )


def test_what_the_record_refers_to_is_read_as_ids_of_known_types() -> None:
    refs = {"Projecttask": "9", "Project": "4", "Customer": "7"}
    notice = verify(notice_body("Booking", "1", "2", int(NOW.timestamp()), refs))
    assert getattr(notice, "refers_to") == refs  # noqa: B009
    assert getattr(verify(notice_body("Booking", "1", "2", int(NOW.timestamp()))), "refers_to") == {}  # noqa: B009
    for odd in ({"Project": "4; DROP"}, {"User": "4"}, {"Project": 4}):
        problem = refused(notice_body("Booking", "1", "2", int(NOW.timestamp()), odd))  # type: ignore[arg-type]
        assert (problem.status, "refers_to" in problem.message) == (400, True), odd


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, sign("wrong-secret", b"x"), "md5=abc", sign(SECRET, b"another body")],
)
def test_bad_or_missing_signatures_are_401(signature: str | None) -> None:
    problem = refused(notice_body("Booking", "1", "2", int(NOW.timestamp())), signature)
    assert problem.status == 401
    assert "X-OpenAir-Signature" in problem.message


def test_a_tampered_body_fails_the_signature() -> None:
    body = notice_body("Booking", "1", "2", int(NOW.timestamp()))
    assert refused(body.replace(b'"1"', b'"9"'), sign(SECRET, body)).status == 401


@pytest.mark.parametrize("skew", [-301, 301, -86_400])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    problem = refused(notice_body("Booking", "1", "2", int(NOW.timestamp()) + skew))
    assert problem.status == 401
    assert "replay" in problem.message


def test_inside_the_window_either_way_is_fine() -> None:
    for skew in (-299, 0, 299):
        verify(notice_body("Booking", "1", "2", int(NOW.timestamp()) + skew))


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"not json", 400, "malformed"),
        (b"[]", 400, "malformed"),
        (json.dumps({"type": "Booking", "id": "1"}).encode(), 400, "timestamp"),
        (json.dumps({"type": "Booking", "id": "12a", "timestamp": 1}).encode(), 400, "id"),
        (json.dumps({"type": "Booking", "id": "1", "timestamp": "soon"}).encode(), 400, "timestamp"),
        (json.dumps({"type": "Project", "id": "1", "timestamp": int(NOW.timestamp())}).encode(), 422, "Project"),
        (b"x" * (MAX_BODY_BYTES + 1), 413, "bytes"),
    ],
)
def test_malformed_bodies_and_unknown_types(body: bytes, status: int, words: str) -> None:
    problem = refused(body)
    assert problem.status == status
    assert words in problem.message


def test_unsigned_bodies_are_not_parsed() -> None:
    # A garbage body without a valid signature is a signature problem, never a parse error echoing the input.
    assert refused(b"{garbage", "sha256=00").status == 401
