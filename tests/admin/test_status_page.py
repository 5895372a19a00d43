"""The status page as the function serves it: one self-contained document, locked down by its headers, calling
only admin routes that exist. (What it shows and does in a browser: tests/browser/test_status_page.py.)"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re

import azure.functions as func
import pytest

from shared.admin.status_page import PAGE_DIR, status_page
from tests.admin.test_openapi import declared_admin_routes

SCRIPT = (PAGE_DIR / "status.js").read_text(encoding="utf-8")
STYLE = (PAGE_DIR / "status.css").read_text(encoding="utf-8")


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_inlines_its_style_and_script_and_the_policy_allows_exactly_those() -> None:
    page = status_page()
    html = page.html.decode("utf-8")
    assert f"<style>{STYLE}</style>" in html
    assert f"<script>{SCRIPT}</script>" in html
    assert "@@" not in html
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == _digest(SCRIPT)
    assert policy["style-src"] == _digest(STYLE)
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    # No other script or stylesheet, inline handler or style attribute the policy would block (or that could load).
    assert html.count("<script") == 1
    assert html.count("<style") == 1
    assert not re.search(r"\son[a-z]+=", html)
    assert " style=" not in html
    assert "<link" not in html


def test_nothing_comes_from_elsewhere() -> None:
    html = status_page().html.decode("utf-8")
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # an XML namespace name, never fetched


def test_small_and_compressed_when_the_browser_takes_it() -> None:
    page = status_page()
    assert len(page.html) < 50_000  # about 40 KB today
    body, headers = page.answer("gzip, deflate, br")
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == page.html
    assert len(body) < 16_000  # about 12 KB today
    plain, headers = page.answer("")
    assert plain == page.html
    assert "Content-Encoding" not in headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_the_script_calls_only_admin_routes_the_app_declares() -> None:
    routes = declared_admin_routes()
    calls = re.findall(r'api\("([a-z/-]+)(?:\?[^"]*)?"(?:, \{ method: "([A-Z]+)")?', SCRIPT)
    assert {path for path, _ in calls} >= {"status", "runs", "resync", "subscriptions/renew"}
    for path, method in calls:
        assert ((method or "GET").lower(), f"/api/manage/{path}") in routes, f"{method or 'GET'} manage/{path}"


def test_the_key_travels_in_a_header_and_leaves_the_address_bar() -> None:
    assert 'headers["x-functions-key"] = key' in SCRIPT
    assert "history.replaceState" in SCRIPT
    assert "code=" not in SCRIPT.replace("?code=<admin key>", "").replace("(?code=)", "")


@pytest.mark.parametrize("encoding", ["gzip", ""])
async def test_the_function_answers_with_the_page(encoding: str) -> None:
    from blueprints.admin import manage_status_page

    request = func.HttpRequest("GET", "/api/manage/status-page", headers={"Accept-Encoding": encoding}, body=b"")
    answer = await manage_status_page.build().get_user_function()(request)
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    body = gzip.decompress(answer.get_body()) if encoding else answer.get_body()
    assert body == status_page().html
    assert answer.headers["X-Frame-Options"] == "DENY"
