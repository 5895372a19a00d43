"""Graph event JSON (through the SDK's own deserializer) into our GraphEvent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.graph import parse
from shared.graph.models import OPENAIR_PROPERTY_ID


def sdk_event(raw: dict[str, Any]) -> Any:
    from kiota_serialization_json.json_parse_node import JsonParseNode
    from msgraph.generated.models.event import Event

    return JsonParseNode(raw).get_object_value(Event)


FULL = {
    "id": "AAMk1",
    "changeKey": "ck1",
    "createdDateTime": "2027-03-01T08:00:00Z",
    "lastModifiedDateTime": "2027-03-02T08:00:00.1234567Z",
    "subject": "Design review",
    "body": {"contentType": "text", "content": "Agenda"},
    "start": {"dateTime": "2027-03-29T07:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2027-03-29T08:30:00.0000000", "timeZone": "UTC"},
    "originalStartTimeZone": "W. Europe Standard Time",
    "isAllDay": False,
    "showAs": "workingElsewhere",
    "sensitivity": "private",
    "isCancelled": False,
    "isOrganizer": False,
    "responseStatus": {"response": "tentativelyAccepted", "time": "2027-03-02T08:00:00Z"},
    "type": "exception",
    "seriesMasterId": "AAMkM",
    "originalStart": "2027-03-29T07:00:00Z",
    "organizer": {"emailAddress": {"name": "Ben", "address": "ben@contoso.com"}},
    "attendees": [
        {"emailAddress": {"address": "ava@contoso.com"}, "status": {"response": "accepted"}, "type": "required"}
    ],
    "categories": ["OpenAir"],
    "transactionId": "tx-1",
    "singleValueExtendedProperties": [
        {"id": "String {6B2C7A5E-1F0D-4A8E-9C3B-2D4E5F6A7B8C} Name OpenAirKey", "value": "openair:booking:9"}
    ],
}


def test_a_full_event_keeps_every_field() -> None:
    event = parse.graph_event(sdk_event(FULL))
    assert event.start == dt.datetime(2027, 3, 29, 7, tzinfo=dt.UTC)
    assert event.end == dt.datetime(2027, 3, 29, 8, 30, tzinfo=dt.UTC)
    assert event.start_time_zone == "W. Europe Standard Time"
    assert (event.show_as, event.sensitivity, event.response) == ("workingElsewhere", "private", "tentativelyAccepted")
    assert (event.type, event.series_master_id) == ("exception", "AAMkM")
    assert event.original_start == dt.datetime(2027, 3, 29, 7, tzinfo=dt.UTC)
    assert event.organizer_email == "ben@contoso.com"
    assert [(a.email, a.response) for a in event.attendees] == [("ava@contoso.com", "accepted")]
    assert event.categories == ("OpenAir",)
    assert event.openair_key == "openair:booking:9"  # GUID case differs: still our property
    assert event.last_modified is not None
    assert event.last_modified.tzinfo is not None


def test_a_partial_delta_item_leaves_the_rest_unknown() -> None:
    event = parse.graph_event(sdk_event({"id": "AAMk1", "subject": "new title"}))
    assert event.subject == "new title"
    assert event.start is None
    assert event.show_as is None
    assert event.openair_key is None


def test_a_removed_item_is_recognised() -> None:
    assert parse.removed_id(sdk_event({"id": "AAMk1", "@removed": {"reason": "deleted"}})) == "AAMk1"
    assert parse.removed_id(sdk_event({"id": "AAMk1"})) is None


def test_property_name_is_case_sensitive() -> None:
    other = OPENAIR_PROPERTY_ID.replace("OpenAirKey", "openairkey")
    raw = {"id": "x", "singleValueExtendedProperties": [{"id": other, "value": "v"}]}
    assert parse.graph_event(sdk_event(raw)).openair_key is None


def test_an_iana_zone_is_converted_and_an_unknown_one_refused() -> None:
    berlin = {"id": "x", "start": {"dateTime": "2027-03-29T09:00:00", "timeZone": "Europe/Berlin"}}
    assert parse.graph_event(sdk_event(berlin)).start == dt.datetime(2027, 3, 29, 7, tzinfo=dt.UTC)
    odd = {"id": "x", "start": {"dateTime": "2027-03-29T09:00:00", "timeZone": "Mars Standard Time"}}
    with pytest.raises(ValueError, match="Mars Standard Time"):
        parse.graph_event(sdk_event(odd))


BARE_OCCURRENCE = {
    "@odata.type": "#microsoft.graph.event",
    "@odata.etag": 'W/"DwAAABYAAAC9YbapXssvT4RTG13UUr6AAAhT48i7"',
    "id": "AAMkOcc",
    "seriesMasterId": "AAMkM",
    "type": "occurrence",
    "start": {"dateTime": "2027-03-29T07:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2027-03-29T08:30:00.0000000", "timeZone": "UTC"},
}


def test_a_bare_occurrence_is_partial_and_its_change_key_comes_from_the_etag() -> None:
    """The shape reported in microsoft-graph-docs-contrib #34: an occurrence in delta carries nothing else."""
    event = parse.graph_event(sdk_event(BARE_OCCURRENCE))
    assert (event.type, event.series_master_id, event.change_key) == (
        "occurrence",
        "AAMkM",
        "DwAAABYAAAC9YbapXssvT4RTG13UUr6AAAhT48i7",
    )
    assert event.start == dt.datetime(2027, 3, 29, 7, tzinfo=dt.UTC)
    assert not event.is_complete
    assert parse.graph_event(sdk_event(FULL)).is_complete


@pytest.mark.parametrize("raw", [FULL, BARE_OCCURRENCE, {**FULL, "changeKey": None, "@odata.etag": 'W/"ck9"'}])
def test_a_batch_items_json_reads_as_the_sdk_model_does(raw: dict[str, Any]) -> None:
    assert parse.graph_event_json(raw) == parse.graph_event(sdk_event(raw))
