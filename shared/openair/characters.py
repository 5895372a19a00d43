"""Characters XML 1.0 does not allow, as OpenAir sometimes sends them inside a record's text.

A note pasted from another tool can hold a control character (vertical tab, form feed, ESC…). OpenAir then
answers with it raw, or as a character reference like `&#11;`; either makes the whole response not well-formed
XML (XML 1.0 §2.2 "Char"; §4.1 "Well-formedness constraint: Legal Character"), so one bad note would stop the
read of every record in it — the tenant's whole export. `repair` replaces each such character with U+FFFD, the
Unicode replacement character, so the response parses and the records that held one can be named.

Writing, the same characters (and lone surrogates) would make OpenAir refuse the whole request as not
well-formed, on every pass. They reach us from outside: anyone who can send an invitation chooses its subject,
which the import writes as a booking's notes. `xml_text` drops them from what the client writes: they are
invisible in Outlook, where a replacement character would show something the person never saw.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_REPLACEMENT_BYTES = REPLACEMENT.encode()
_REPLACEMENT_REFERENCE = b"&#xFFFD;"

# Raw: C0 controls other than tab, line feed and carriage return, and U+FFFE / U+FFFF in UTF-8. In UTF-8 no byte
# of a multi-byte character is below 0x80, so these bytes are always those characters.
_RAW = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
_REFERENCE = re.compile(rb"&#(x[0-9a-fA-F]{1,8}|[0-9]{1,10});")
_NOT_IN_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _allowed(code: int) -> bool:
    """XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."""
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _reference(match: re.Match[bytes]) -> bytes:
    text = match.group(1)
    code = int(text[1:], 16) if text[:1] in (b"x", b"X") else int(text)
    return match.group(0) if _allowed(code) else _REPLACEMENT_REFERENCE


def repair(body: bytes) -> tuple[bytes, int]:
    """`body` with every character XML 1.0 does not allow replaced by U+FFFD, and how many there were."""
    repaired, raw = _RAW.subn(_REPLACEMENT_BYTES, body)
    count = raw
    if b"&#" in repaired:
        before = repaired.count(_REPLACEMENT_REFERENCE)
        repaired = _REFERENCE.sub(_reference, repaired)
        count += repaired.count(_REPLACEMENT_REFERENCE) - before
    return repaired, count


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry (the rest untouched, C1 controls included)."""
    return _NOT_IN_XML.sub("", value)
