"""The queue contracts: one place for every queue name and message, light enough for the webhook's cold start."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest

from shared.errors import BadMessage, SyncError
from shared.jobs import contracts
from shared.jobs.contracts import (
    ExportWork,
    ImportWork,
    Message,
    OperationMessage,
    RecordWork,
    decode,
    encode,
    user_of,
)
from shared.kinds import RecordKind
from shared.notifications.webhook import SubscriptionRef, handle_lifecycle, handle_notifications

NOW = dt.datetime(2026, 11, 2, 9, 30, 15, 250_000, tzinfo=dt.UTC)
MESSAGES: list[Message] = [
    ExportWork("u1", "mbx-1", "run-7"),
    ExportWork("u2"),
    RecordWork(RecordKind.TASK_ASSIGNMENT, "123456789012345678", "45", 1_764_590_400.25),
    ImportWork("u1", "mbx-1", "notification", "sub-1", NOW),
    ImportWork("u1", "mbx-1", "reconcile"),
    OperationMessage("op-1", "refresh", NOW, '{"all": true}', "admin@contoso.com"),
]


def test_the_webhook_and_the_contracts_import_only_the_standard_library() -> None:
    # A fresh interpreter: what the notification endpoint's module pulls in on a cold start.
    code = textwrap.dedent("""
        import json, sys
        before = set(sys.modules)
        import shared.notifications.webhook, shared.jobs.contracts
        print(json.dumps(sorted(set(sys.modules) - before)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(out.stdout)
    tops = {name.partition(".")[0] for name in loaded}
    # (_sysconfigdata_* is the interpreter's own build data, which sys.stdlib_module_names does not list)
    assert sorted(t for t in tops - {"shared"} if t not in sys.stdlib_module_names and "sysconfigdata" not in t) == []
    assert {n for n in loaded if n.startswith("shared")} <= {
        "shared", "shared.errors", "shared.kinds", "shared.jobs", "shared.jobs.contracts", "shared.notifications",
        "shared.notifications.webhook",
    }  # fmt: skip


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_reads_back_as_written(message: Message) -> None:
    text = encode(message)
    assert decode(type(message), text) == message
    assert decode(type(message), text.encode()) == message  # the host hands the worker bytes


@pytest.mark.parametrize(
    ("message_type", "body", "named"),
    [
        (ExportWork, b"[]", "not an export message"),
        (ExportWork, b'{"mailbox_id": "m"}', "user_id"),
        (ImportWork, b'{"user_id": 7}', "not an import message"),
        (RecordWork, b'{"kind": "booking", "record_id": "12a"}', "not an OpenAir id"),
        (RecordWork, b'{"kind": "invoice", "record_id": "12"}', "not an export-record message"),
        (OperationMessage, b'{"operation_id": "op", "handler": "refresh"}', "queued"),
        (ImportWork, b"not json", "not an import message"),
    ],
)
def test_a_message_that_is_not_one_is_a_bad_message(message_type: type, body: bytes, named: str) -> None:
    with pytest.raises(BadMessage, match=named) as caught:
        decode(message_type, body)
    assert isinstance(caught.value, SyncError)
    assert isinstance(caught.value, ValueError)  # a handler written for ValueError still catches it


def test_fields_a_message_does_not_know_are_ignored() -> None:
    # A message queued by a newer version that added a key is still read by this one (and the other way round).
    assert decode(ExportWork, '{"user_id": "u1", "later": 1}') == ExportWork("u1")


def test_the_webhook_queues_what_the_import_worker_reads() -> None:
    owners = {"sub-1": SubscriptionRef("u1", "mbx-1")}
    body = b'{"value": [{"subscriptionId": "sub-1", "clientState": "s3cret", "changeType": "updated"}]}'
    headers = {"Content-Type": "application/json"}
    answer = handle_notifications({}, headers, body, client_state="s3cret", lookup=owners.get,
                                  max_body_bytes=10_000, now=NOW)  # fmt: skip
    assert [decode(ImportWork, m) for m in answer.messages] == [ImportWork("u1", "mbx-1", "notification", "sub-1", NOW)]
    lifecycle = b'{"value": [{"subscriptionId": "sub-1", "clientState": "s3cret", "lifecycleEvent": "missed"}]}'
    answer = handle_lifecycle({}, headers, lifecycle, client_state="s3cret", lookup=owners.get,
                              max_body_bytes=10_000, now=NOW)  # fmt: skip
    assert [decode(ImportWork, m) for m in answer.messages] == [ImportWork("u1", "mbx-1", "missed", "sub-1", NOW)]


def test_user_of_reads_what_it_can_and_never_raises() -> None:
    assert user_of(encode(ExportWork("u9"))) == "u9"
    assert user_of(b'{"user_id": 12}') == "12"
    assert user_of(b"[" * 100_000) == ""
    assert user_of(b"\xff") == ""
    assert user_of(b'"u1"') == ""


def test_queue_names_are_distinct_and_poison_queues_follow_the_hosts_rule() -> None:
    names = [contracts.EXPORT_QUEUE, contracts.EXPORT_RECORD_QUEUE, contracts.IMPORT_QUEUE, contracts.OPERATIONS_QUEUE]
    assert len(set(names)) == len(names)
    assert not any(name.endswith(contracts.POISON_SUFFIX) for name in names)


def test_every_admin_operation_kind_runs_a_named_endpoint() -> None:
    from shared.admin import endpoints
    from shared.jobs import operations

    named = {kind: operations._endpoint(kind) for kind in operations.KINDS}
    assert named == {"refresh": endpoints.refresh, "export": endpoints.export, "resync": endpoints.resync}
