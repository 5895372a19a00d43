"""The `$batch` items built as plain JSON are the JSON the SDK's models and BatchRequestItem would write."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

from shared.domain.events import CreateEvent, DeleteEvent, EventDraft, UpdateEvent
from shared.graph.batch import path_segment, write_item
from shared.graph.render import event_json, render_event


def draft(**changes: Any) -> EventDraft:
    values: dict[str, Any] = {
        "openair_key": "openair:booking:7",
        "subject": 'OA Booking: "é" </x>',
        "body": "Customer: Contoso\nline ☃",
        "start": dt.datetime(2027, 3, 26, 9, 30),
        "end": dt.datetime(2027, 3, 26, 11),
        "time_zone": "Europe/Berlin",
        "is_all_day": False,
        "show_as": "workingElsewhere",
        "sensitivity": "private",
        "categories": ("OpenAir", "B"),
        "is_reminder_on": True,
        "body_type": "html",
    }
    return EventDraft(**{**values, **changes})


def sdk_json(model: Any) -> str:
    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    return writer.get_serialized_content().decode("utf-8")


@pytest.mark.parametrize("transaction_id", ["tx-1", None])
@pytest.mark.parametrize("changes", [{}, {"subject": "", "categories": (), "show_as": "free", "body_type": "text"}])
def test_event_json_is_the_sdk_models_json_key_for_key(transaction_id: str | None, changes: dict[str, Any]) -> None:
    made = draft(**changes)
    assert json.dumps(event_json(made, transaction_id)) == sdk_json(render_event(made, transaction_id))


def test_write_items_encode_path_parameters_as_the_sdk_templates_do() -> None:
    assert path_segment("a b/c+d='é'~x") == "a%20b%2Fc%2Bd%3D%27%C3%A9%27~x"
    created = write_item("user@contoso.com", CreateEvent(draft=draft(), transaction_id="tx"))
    assert (created["method"], created["url"]) == ("POST", "/users/user%40contoso.com/events")
    updated = write_item("u1", UpdateEvent(event_id="AAMk/+=", draft=draft()))
    assert (updated["method"], updated["url"]) == ("PATCH", "/users/u1/events/AAMk%2F%2B%3D")
    assert "transactionId" not in updated["body"]
    deleted = write_item("u1", DeleteEvent(event_id="e1"))
    assert deleted == {"method": "DELETE", "url": "/users/u1/events/e1", "depends_on": [],
                       "headers": {"accept": "application/json"}}  # fmt: skip
