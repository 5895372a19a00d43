"""The "After save" form script of the Booking, Task assignment and Schedule request forms, as OpenAir runs it.

When configured (CLI `--form-script-url/--form-script-secret[/--form-script-key]` or `PATCH /_sim/form-script`),
a record of those types created or modified through the UI-like control API is announced exactly as
`form_script/after_save.js` would: a compact JSON body `{"type","id","user_id","timestamp"}` (and `refers_to`,
the task, project and customer ids the record names, when it names any), signed with
HMAC-SHA256 in `X-OpenAir-Signature: sha256=<hex>`, the function key in `x-functions-key`. As in OpenAir, the
save waits for the post (up to 45 s) and never fails because of it; XML API writes and deletions run no form
script, so they are never announced. Written with the standard library only, independently of `shared/push.py`,
so the product's verifier is checked against a second implementation of the wire format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

FORMS = ("Booking", "Projecttaskassign", "Schedulerequest")
# The ids a saved record names, sent along as `refers_to` (the first field holding digits wins).
REFERENCE_FIELDS = {
    "Projecttask": ["project_taskid", "projecttaskid"],
    "Project": ["projectid"],
    "Customer": ["customerid"],
}
TIMEOUT_SECONDS = 45.0  # NSOA.https.post's documented connection timeout


class FormScriptHook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.url = ""
        self._secret = ""
        self._function_key = ""
        self.posted = 0
        self.failed = 0
        self.last_status = 0
        self.last_error = ""
        self.timeout_seconds = TIMEOUT_SECONDS

    def configure(self, url: str, secret: str = "", function_key: str = "") -> None:
        """Point the script at `url` ('' switches it off)."""
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("form script url must be an http(s) URL")
        if url and not secret:
            raise ValueError("form script needs a secret (the PushSecret parameter)")
        with self._lock:
            self.url, self._secret, self._function_key = url, secret, function_key

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "url": self.url,
                "secret_set": bool(self._secret),
                "function_key_set": bool(self._function_key),
                "posted": self.posted,
                "failed": self.failed,
                "last_status": self.last_status,
                "last_error": self.last_error,
            }

    def after_save(self, type_name: str, record: dict[str, Any]) -> None:
        """Announce a saved record (no-op for other forms or when switched off); never raises."""
        with self._lock:
            url, secret, key = self.url, self._secret, self._function_key
        if not url or type_name not in FORMS:
            return
        user_id = str(record.get("userid") or "")
        notice: dict[str, Any] = {"type": type_name, "id": str(record["id"]), "user_id": user_id,
                                  "timestamp": int(time.time())}  # fmt: skip
        refers_to = _references(record)
        if refers_to:
            notice["refers_to"] = refers_to
        body = json.dumps(notice, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-OpenAir-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        }
        if key:
            headers["x-functions-key"] = key
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - configured
        status, error = 0, ""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, exc.read().decode(errors="replace")[:300]
        except (OSError, ValueError) as exc:  # refused, timed out, bad URL: the script logs it, the save goes on
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
                # Oracle (NSOA.https.post): after 45 s the call returns code "500" with a Client-Warning header.
                status, error = 500, f"Client-Warning: no answer within {self.timeout_seconds:g} s"
        with self._lock:
            self.last_status, self.last_error = status, error
            if 200 <= status < 300:
                self.posted += 1
            else:
                self.failed += 1


def _references(record: dict[str, Any]) -> dict[str, str]:
    """`refers_to` as the script builds it: per type, the first of its fields that holds an id (digits)."""
    out: dict[str, str] = {}
    for target, names in REFERENCE_FIELDS.items():
        ids = [str(record.get(name) or "") for name in names]
        found = next((i for i in ids if i.isascii() and i.isdigit() and len(i) <= 18), "")
        if found:
            out[target] = found
    return out
