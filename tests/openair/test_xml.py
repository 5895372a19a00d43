"""The client's XML codec: `<Date>` both ways, hostile documents refused, envelopes and replies."""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import tostring
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as safe_et
import pytest

from shared.openair.dates import date_element, read_date, to_utc
from shared.openair.errors import OpenAirProtocolError
from shared.openair.xml import Envelope, build_request, parse_response, record_from_element

NEW_YORK = ZoneInfo("America/New_York")


def roundtrip(value: dt.date | dt.datetime | None, zone: ZoneInfo | None = None) -> dt.date | dt.datetime | None:
    element = date_element(None, value, zone=zone)
    return read_date(safe_et.fromstring(tostring(element)))


def test_empty_date_has_all_parts_empty_and_reads_back_as_none() -> None:
    element = date_element(None, None)
    assert [child.text or "" for child in element] == ["", "", "", "", "", ""]
    assert roundtrip(None) is None


def test_date_only_values_keep_empty_time_parts() -> None:
    element = date_element(None, dt.date(2026, 2, 28))
    assert element.findtext("year") == "2026"
    assert element.findtext("day") == "28"
    assert element.findtext("hour") == ""
    assert element.findtext("second") == ""
    assert roundtrip(dt.date(2026, 2, 28)) == dt.date(2026, 2, 28)


def test_naive_datetimes_round_trip_unchanged_including_midnight() -> None:
    for value in (dt.datetime(2026, 3, 8, 1, 59, 59), dt.datetime(2026, 1, 1, 0, 0, 0)):
        assert roundtrip(value) == value


def test_aware_values_are_sent_in_the_company_zone_across_dst() -> None:
    # 06:59:59Z is 01:59:59 EST, one second before New York springs forward; 07:00:00Z is 03:00:00 EDT.
    before = dt.datetime(2026, 3, 8, 6, 59, 59, tzinfo=dt.UTC)
    after = dt.datetime(2026, 3, 8, 7, 0, 0, tzinfo=dt.UTC)
    assert roundtrip(before, NEW_YORK) == dt.datetime(2026, 3, 8, 1, 59, 59)
    assert roundtrip(after, NEW_YORK) == dt.datetime(2026, 3, 8, 3, 0, 0)
    assert to_utc(dt.datetime(2026, 3, 8, 3, 0, 0), NEW_YORK) == after


def test_repeated_fall_back_hour_reads_as_the_earlier_instant() -> None:
    # 01:30 happens twice on 2026-11-01 in New York; the earlier (EDT) reading can only re-read, never skip.
    assert to_utc(dt.datetime(2026, 11, 1, 1, 30), NEW_YORK) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)


def test_timezone_offset_on_a_response_date_wins() -> None:
    xml = (
        b"<Date><year>2026</year><month>11</month><day>01</day><hour>01</hour><minute>30</minute>"
        b"<second>00</second><timezone>-0500</timezone></Date>"
    )
    value = read_date(safe_et.fromstring(xml))
    assert isinstance(value, dt.datetime)
    assert to_utc(value, NEW_YORK) == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)


def test_zero_date_is_empty_and_impossible_dates_raise() -> None:
    zero = b"<Date><year>0000</year><month>00</month><day>00</day><hour/><minute/><second/></Date>"
    assert read_date(safe_et.fromstring(zero)) is None
    bad = b"<Date><year>2026</year><month>13</month><day>01</day><hour/><minute/><second/></Date>"
    with pytest.raises(ValueError, match="month"):
        read_date(safe_et.fromstring(bad))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<response><Auth status="0"/><Read status="0"><Booking><notes>&lol3;</notes></Booking></Read></response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<response><Auth status="0"/><Read status="0"><Booking><notes>&xxe;</notes></Booking></Read></response>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_hostile_responses_are_refused_not_expanded(body: bytes) -> None:
    with pytest.raises(OpenAirProtocolError, match="refused hostile XML") as caught:
        parse_response(body, "Read Booking")
    assert not caught.value.retryable
    assert "Read Booking" in str(caught.value)


def _in(encoding: str, document: bytes, declared: str = "") -> bytes:
    declaration = f'version="1.0" encoding="{declared or encoding}"?>'
    return document.decode().replace('version="1.0"?>', declaration).encode(encoding)


# The C parser takes only UTF-8 bodies without `<!DOCTYPE` bytes; in another encoding those bytes differ, so such
# bodies go through defusedxml, which refuses the DTD however it is spelled.
@pytest.mark.parametrize(
    "body",
    [
        _in("utf-16", BILLION_LAUGHS),  # with a byte order mark
        _in("utf-16-le", BILLION_LAUGHS, "utf-16"),  # without one: expat would sniff it from the first bytes
        _in("utf-16-be", EXTERNAL_ENTITY, "utf-16"),
        _in("iso-8859-1", EXTERNAL_ENTITY),
        b"\xef\xbb\xbf" + BILLION_LAUGHS,
    ],
    ids=["utf-16", "utf-16-le", "utf-16-be", "latin-1", "utf-8-bom"],
)
def test_hostile_responses_in_any_encoding_are_refused(body: bytes) -> None:
    with pytest.raises(OpenAirProtocolError, match="refused hostile XML"):
        parse_response(body, "Read Booking")


@pytest.mark.parametrize(
    "body",
    [
        b"<!-- <!DOCTYPE r> --><response><Auth status='0'/><Read status='0'><Booking><notes>caf\xc3\xa9</notes>"
        b"</Booking></Read></response>",
        b"<response><Auth status='0'/><Read status='0'><Booking><notes><![CDATA[caf\xc3\xa9]]></notes></Booking>"
        b"<Booking><notes><![CDATA[<!DOCTYPE r>]]></notes></Booking></Read></response>",
        b'<?xml version="1.0" encoding="ISO-8859-1"?><response><Auth status="0"/><Read status="0"><Booking>'
        b"<notes>caf\xe9</notes></Booking></Read></response>",
        _in("utf-16", b'<?xml version="1.0"?><response><Auth status="0"/><Read status="0"><Booking><notes>caf\xc3\xa9'
                      b"</notes></Booking></Read></response>"),
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><response><Auth status="0"/><Read status="0"><Booking>'
        b"<notes>caf\xc3\xa9</notes></Booking></Read></response>",
    ],
    ids=["doctype-in-a-comment", "doctype-in-cdata", "latin-1", "utf-16", "utf-8-bom"],
)  # fmt: skip
def test_well_formed_responses_read_the_same_whichever_parser_takes_them(body: bytes) -> None:
    read = parse_response(body, "Read Booking")[1]
    notes = [record_from_element(booking, "Read Booking")["notes"] for booking in read.element]
    assert notes[0] == "café"


def test_truncated_response_is_a_retryable_protocol_error() -> None:
    with pytest.raises(OpenAirProtocolError, match="not well-formed") as caught:
        parse_response(b"<response><Auth status='0'></Auth><Read status='0'><Boo", "Read Booking")
    assert caught.value.retryable


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0" encoding="utf-16-le"?><response/>'.encode("utf-16-le"),
        b'<?xml version="1.0" encoding="utf-16-le"?><response/>',
        b'<?xml version="1.0" encoding="klingon"?><response/>',
    ],
    ids=["utf-16-le", "utf-16-le declared on utf-8 bytes", "unknown"],
)
def test_a_response_in_an_encoding_xml_cannot_be_read_in_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(OpenAirProtocolError, match="declares an encoding") as caught:
        parse_response(body, "Read Booking")
    assert "Read Booking" in str(caught.value)


def test_root_status_of_an_unparseable_request_is_reported() -> None:
    replies = parse_response(b'<response status="1">unclosed token at line 1, column 322</response>', "Read User")
    assert replies[0].tag == "response"
    assert replies[0].status == 1
    assert "unclosed token" in replies[0].text()


def test_envelope_carries_key_namespace_and_token_login() -> None:
    body = build_request(Envelope("sync", "1.0", "default", "KEY", {"access_token": "tok"}))
    root = safe_et.fromstring(body)
    assert root.tag == "request"
    assert (root.get("API_version"), root.get("key"), root.get("namespace")) == ("1.0", "KEY", "default")
    assert root.findtext("Auth/Login/access_token") == "tok"
    assert root.find("Auth/Login/password") is None


def test_records_decode_dates_nested_addresses_and_repeated_tags() -> None:
    xml = (
        b"<User><id>5</id><addr><Address><email>a@b.c</email></Address></addr><tag>x</tag><tag>y</tag>"
        b"<updated><Date><year>2026</year><month>01</month><day>02</day><hour>03</hour><minute>04</minute>"
        b"<second>05</second></Date></updated><note/></User>"
    )
    raw = record_from_element(safe_et.fromstring(xml), "Read User")
    assert raw == {
        "id": "5",
        "addr": {"Address": {"email": "a@b.c"}},
        "tag": ["x", "y"],
        "updated": dt.datetime(2026, 1, 2, 3, 4, 5),
        "note": "",
    }


def test_invalid_date_in_a_record_names_the_field() -> None:
    xml = (
        b"<Booking><id>9</id><startdate><Date><year>2026</year><month>02</month><day>30</day></Date></startdate>"
        b"</Booking>"
    )
    with pytest.raises(OpenAirProtocolError, match="startdate"):
        record_from_element(safe_et.fromstring(xml), "Read Booking")


# Every character XML 1.0 cannot carry, as Outlook subjects and other outside text may hold them.
NOT_XML = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\ud800\udfff\ufffe\uffff"


def test_characters_xml_cannot_carry_are_dropped_from_every_value_written() -> None:
    from shared.openair.xml import Command, object_element

    booking = object_element("Booking", {"notes": f"Sync{NOT_XML} me\tnow", "externalid": f"m365:{NOT_XML}1"})
    body = build_request(
        Envelope(f"client{NOT_XML}", "1.0", "default", f"key{NOT_XML}", {"access_token": f"t{NOT_XML}k"},
                 [Command(booking, "Add Booking")])
    )  # fmt: skip
    root = safe_et.fromstring(body)  # well-formed: expat refuses every one of those characters
    assert root.findtext("Booking/notes") == "Sync me\tnow"
    assert root.findtext("Booking/externalid") == "m365:1"
    assert root.findtext("Auth/Login/access_token") == "tk"
    assert (root.get("client"), root.get("key")) == ("client", "key")


def test_text_xml_can_carry_is_kept_as_is() -> None:
    from shared.openair.characters import xml_text

    text = "Tab\tLF\nCR\r C1\x85 DEL\x7f é 日本 🙂 \ufffd"
    assert xml_text(text) == text


def test_characters_xml_does_not_allow_are_replaced_raw_or_as_references_and_named_by_record() -> None:
    from shared.openair.characters import repair

    assert repair(b"a\x0bb\x00c\tok\r\n") == ("a\ufffdb\ufffdc\tok\r\n".encode(), 2)
    assert repair(b"&#11;&#x1B;&#xfffe;&#9;&#x20AC;&amp;") == (b"&#xFFFD;&#xFFFD;&#xFFFD;&#9;&#x20AC;&amp;", 3)
    assert repair("caf\u00e9 \ufffe".encode()) == ("caf\u00e9 \ufffd".encode(), 1)
    body = (
        b'<response><Auth status="0"/><Read status="0"><Booking><id>7</id><notes>a\x1bb</notes></Booking></Read>'
        b"</response>"
    )
    (_, read) = parse_response(body, "Read Booking")
    assert read.repaired == ("Booking 7 (notes)",)
    assert record_from_element(read.element[0], "Read Booking")["notes"] == "a\ufffdb"
    # A body broken for another reason is not "repaired" into something else: it stays a (retryable) error.
    with pytest.raises(OpenAirProtocolError, match="not well-formed"):
        parse_response(b'<response><Auth status="0"/><Read status="0"><Booking>\x0b<id>', "Read Booking")
