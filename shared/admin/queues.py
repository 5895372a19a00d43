"""Queue Storage as administrators see it: how much work waits, and which messages were poisoned.

Messages are keys only (user id, mailbox id, run id), never event contents, so showing a poisoned message is
safe. The Functions host writes them base64-encoded (host.json `messageEncoding`), so both forms are read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.errors import ConfigurationError
from shared.jobs.contracts import POISON_SUFFIX
from shared.settings import StorageSettings


@dataclass(frozen=True)
class QueueMessageView:
    queue: str
    inserted: str
    dequeue_count: int
    content: dict[str, Any] | str  # the decoded JSON message, or the raw text when it is not JSON


class QueueInspector:
    """Read-only peeks at the function app's queues (azure-storage-queue, same account as the tables)."""

    def __init__(self, settings: StorageSettings) -> None:
        from azure.storage.queue import QueueServiceClient

        if settings.connection_string:
            self._service = QueueServiceClient.from_connection_string(settings.connection_string)
        elif settings.queue_service_uri:
            from azure.identity import DefaultAzureCredential

            self._service = QueueServiceClient(settings.queue_service_uri, credential=DefaultAzureCredential())
        else:
            raise ConfigurationError(
                "No queue storage configured: set AzureWebJobsStorage (a connection string) or "
                "AzureWebJobsStorage__queueServiceUri with the function app's managed identity"
            )

    def queue_names(self) -> list[str]:
        return sorted(str(q.name) for q in self._service.list_queues())

    def message_count(self, queue: str) -> int | None:
        """Approximate number of messages, or None when the queue does not exist (nothing was ever queued)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self._service.get_queue_client(queue).get_queue_properties()
        except ResourceNotFoundError:
            return None
        return int(props.approximate_message_count or 0)

    def peek(self, queue: str, limit: int = 32) -> list[QueueMessageView]:
        """Up to 32 messages (the service maximum), without hiding or removing them."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            found = self._service.get_queue_client(queue).peek_messages(max_messages=min(limit, 32))
        except ResourceNotFoundError:
            return []
        return [
            QueueMessageView(queue, str(m.inserted_on or ""), int(m.dequeue_count or 0), _decode(str(m.content)))
            for m in found
        ]

    def poison_queues(self, names: Iterable[str] | None = None) -> dict[str, list[QueueMessageView]]:
        """Every `*-poison` queue with its messages (empty queues included when they exist)."""
        queues = [n for n in (names if names is not None else self.queue_names()) if n.endswith(POISON_SUFFIX)]
        return {name: self.peek(name) for name in queues}

    def close(self) -> None:
        self._service.close()


def _decode(content: str) -> dict[str, Any] | str:
    text = content
    with contextlib.suppress(binascii.Error, UnicodeDecodeError):  # not base64: the message is the text itself
        text = base64.b64decode(content, validate=True).decode("utf-8")
    try:
        value = json.loads(text)
    except ValueError:
        return text[:200]
    return value if isinstance(value, dict) else text[:200]
