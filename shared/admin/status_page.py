"""The status page administrators open in a browser: `GET /api/manage/status-page?code=<admin key>`.

The page holds no data of its own. Its script reads the answers of `manage/status` and `manage/runs` — the
operations the command line and the API use, so the page can never disagree with them — and its two actions call
`manage/resync` (a dry run first, then the resync of one user after a confirmation) and
`manage/subscriptions/renew`. Nothing on it can change everyone at once.

One request brings the whole page: the stylesheet and the script in `shared/admin/page/` are inlined, so no CDN is
needed (it works offline) and no second request has to carry the key. A Content-Security-Policy allows exactly
those two inlined blocks (by hash) and requests to this origin only. The script takes the key out of the address
bar and sends it in the `x-functions-key` header, never in a URL.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PAGE_DIR = Path(__file__).with_name("page")
STYLE_SLOT, SCRIPT_SLOT = "@@STYLE@@", "@@SCRIPT@@"
MEDIA_TYPE = "text/html"


@dataclass(frozen=True)
class Page:
    html: bytes
    gzipped: bytes
    headers: dict[str, str]

    def answer(self, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers for a request that sent this Accept-Encoding (gzip when the browser takes it)."""
        if "gzip" in accept_encoding.lower():
            return self.gzipped, {**self.headers, "Content-Encoding": "gzip"}
        return self.html, dict(self.headers)


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _inline(template: str, slot: str, content: str, closing: str) -> str:
    if template.count(slot) != 1:
        raise ValueError(f"the page template must hold {slot} exactly once")
    if closing in content.lower():
        raise ValueError(f"an inlined block may not contain {closing}")
    return template.replace(slot, content)


@cache
def status_page() -> Page:
    """The page, assembled once per process from `shared/admin/page/`."""
    style = (PAGE_DIR / "status.css").read_text(encoding="utf-8")
    script = (PAGE_DIR / "status.js").read_text(encoding="utf-8")
    html = _inline((PAGE_DIR / "status.html").read_text(encoding="utf-8"), STYLE_SLOT, style, "</style")
    html = _inline(html, SCRIPT_SLOT, script, "</script")
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src {_source_hash(script)}",
            f"style-src {_source_hash(style)}",
            "connect-src 'self'",
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    headers = {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Vary": "Accept-Encoding",
    }
    body = html.encode("utf-8")
    return Page(html=body, gzipped=gzip.compress(body, compresslevel=9, mtime=0), headers=headers)
