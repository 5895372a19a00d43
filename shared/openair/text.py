"""Text OpenAir can store: what XML 1.0 can carry.

XML 1.0 has no way to write most C0 control characters (U+0000-U+001F but tab, LF and CR), surrogates, U+FFFE
or U+FFFF — not even as `&#1;` (https://www.w3.org/TR/xml/#charsets). A request holding one is not
well-formed and OpenAir refuses all of it, on every pass. They reach us from outside: anyone who can send an
invitation chooses its subject, which the import writes as a booking's notes. They are dropped, not replaced:
they are invisible in Outlook, and a replacement character would show where the person saw nothing.
"""

from __future__ import annotations

import re

_NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry (the rest untouched, C1 controls included)."""
    return _NOT_IN_XML.sub("", value)
