"""`shared.redaction`: each secret is found in every form text carries it in, and only secrets are masked."""

from __future__ import annotations

import json
import urllib.parse

from shared import redaction


def test_every_form_of_a_secret_is_masked() -> None:
    secret = 'q"uo\\te-é-日-🔑 +&'
    redaction.register([secret])
    for text in (secret, json.dumps(secret), json.dumps(secret, ensure_ascii=False), repr(secret), ascii(secret),
                 urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)):  # fmt: skip
        assert redaction.redact(f"<{text}>") in ("<***>", '<"***">', "<'***'>"), text


def test_short_and_empty_values_are_not_secrets_and_ordinary_text_stays() -> None:
    redaction.register(["", None, "abc", "true"])
    assert redaction.redact("abc true false 12345") == "abc true false 12345"


def test_a_secret_inside_a_longer_one_masks_the_longer_whole() -> None:
    redaction.register(["inner-secret-1", "outer-inner-secret-1-tail"])
    assert redaction.redact("a outer-inner-secret-1-tail b inner-secret-1") == "a *** b ***"


def test_values_of_any_shape() -> None:
    redaction.register(["shape-secret-9"])

    class Thing:
        def __str__(self) -> str:
            return "thing with shape-secret-9"

    value = {"k": ["shape-secret-9", ("x", "shape-secret-9")], "n": 3, "t": Thing(), "b": b"shape-secret-9", "ok": 1.5}
    assert redaction.redact_value(value) == {"k": ["***", ("x", "***")], "n": 3, "t": "thing with ***", "b": "***",
                                             "ok": 1.5}  # fmt: skip
    plain = object()
    assert redaction.redact_value(plain) is plain
