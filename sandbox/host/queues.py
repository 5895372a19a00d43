"""Azure Storage queue triggers and queue output bindings, with the Functions queue extension's rules.

A listener per queue trigger receives up to `batchSize` messages, invokes the function for each
concurrently, and fetches again once no more than `newBatchThreshold` are still in progress. While a
message is processed it stays invisible: the extension leases it for 10 minutes and renews the lease every half
of that while the function runs (so a run longer than 10 minutes, allowed up to functionTimeout, is not handed
to a second worker). Then:
- success: the message is deleted;
- failure: it becomes visible again after `visibilityTimeout`, unless its dequeue count has reached
  `maxDequeueCount`, in which case it is copied to `<queue>-poison` and deleted;
- a message that cannot be decoded (not base64 when `messageEncoding` is base64) goes to the poison queue at
  once, since retrying cannot fix it — the extension does the same.
An idle queue is polled with randomized exponential back-off from 100 ms up to `maxPollingInterval`;
writing to a queue through an output binding wakes that queue's listener at once, like the host's
shared queue watcher.
"""

from __future__ import annotations

import base64
import binascii
import collections.abc
import concurrent.futures
import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage as TriggerMessage
from azure.storage.queue import QueueClient, QueueMessage, QueueServiceClient

from sandbox.host.hostjson import MIN_POLLING_INTERVAL, QueuesOptions
from sandbox.host.invoker import HostStoppingError, Invoker, Outcome
from sandbox.host.loader import FunctionSpec, QueueOutputSpec, QueueSpec
from sandbox.host.logs import fields, logger
from sandbox.host.threads import THREAD_PREFIX

LEASE_SECONDS = 600  # how long a message being processed stays invisible (the extension's 10-minute lease)


class ConnectionSettingError(RuntimeError):
    """A binding's `connection` names no usable setting."""


class QueueAccounts:
    """Queue clients per (connection setting, queue name); queues are created when first used."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self._settings = settings
        self._services: dict[str, QueueServiceClient] = {}
        self._queues: dict[tuple[str, str], QueueClient] = {}
        self._lock = threading.Lock()

    def queue(self, spec: QueueSpec) -> QueueClient:
        key = (spec.connection, spec.queue_name)
        with self._lock:
            if key not in self._queues:
                client = self._service(spec.connection).get_queue_client(spec.queue_name)
                with contextlib.suppress(ResourceExistsError):  # already there: the usual case
                    client.create_queue()
                self._queues[key] = client
            return self._queues[key]

    def _service(self, connection: str) -> QueueServiceClient:
        if connection not in self._services:
            # The host accepts the setting itself or the same name with an `AzureWebJobs` prefix.
            for name in (connection, f"AzureWebJobs{connection}"):
                value = self._settings.get(name, "")
                if value:
                    self._services[connection] = QueueServiceClient.from_connection_string(value)
                    break
            else:
                if any(k.startswith(f"{connection}__") for k in self._settings):
                    raise ConnectionSettingError(
                        f"connection {connection!r} is identity-based ({connection}__...); the local host needs "
                        f"a connection string in {connection!r}, e.g. UseDevelopmentStorage=true or Azurite's"
                    )
                raise ConnectionSettingError(
                    f"connection setting {connection!r} is not set (a storage connection string)"
                )
        return self._services[connection]


def encode_message(payload: str | bytes, encoding: str) -> str:
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii")
    return data.decode("utf-8")


def decode_message(content: str, encoding: str) -> bytes:
    """Message bytes; raises ValueError when base64 is expected and the content is not."""
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"message is not base64 ({exc}); host.json messageEncoding is 'base64'") from exc
    return content.encode("utf-8")


class QueueOutputs:
    """Writes what functions set on queue output bindings; wakes listeners of the queue written to."""

    def __init__(self, accounts: QueueAccounts, options: QueuesOptions) -> None:
        self._accounts = accounts
        self._options = options
        self._listeners: dict[tuple[str, str], list[QueueListener]] = {}

    def watch(self, listener: QueueListener) -> None:
        key = (listener.spec.connection, listener.spec.queue_name)
        self._listeners.setdefault(key, []).append(listener)

    def write(self, output: QueueOutputSpec, value: Any) -> None:
        client = self._accounts.queue(output.queue)
        for payload in _payloads(output, value):
            client.send_message(encode_message(payload, self._options.message_encoding))
        for listener in self._listeners.get((output.queue.connection, output.queue.queue_name), []):
            listener.wake()


def _payloads(output: QueueOutputSpec, value: Any) -> list[str | bytes]:
    # The worker's queue converter accepts str, bytes, QueueMessage, or a list of str / QueueMessage.
    if isinstance(value, str | bytes):
        return [value]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, collections.abc.Iterable) and not isinstance(value, Mapping):
        items = list(value)
        if all(isinstance(item, str | bytes | func.QueueMessage) for item in items):
            return [item.get_body() if isinstance(item, func.QueueMessage) else item for item in items]
    raise TypeError(
        f"queue output {output.arg_name!r} got {type(value).__name__}; "
        "set str, bytes, func.QueueMessage or a list of them (json.dumps a dict first)"
    )


class QueueListener:
    def __init__(
        self,
        spec: FunctionSpec,
        accounts: QueueAccounts,
        invoker: Invoker,
        options: QueuesOptions,
    ) -> None:
        assert spec.queue is not None
        self.function = spec
        self.spec = spec.queue
        self._accounts = accounts
        self._invoker = invoker
        self._options = options
        self._queue = accounts.queue(spec.queue)
        self._poison_spec = QueueSpec(f"{spec.queue.queue_name}-poison", spec.queue.connection)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._held = 0  # received and not yet deleted, released or poisoned
        self._held_changed = threading.Condition()
        self._workers = concurrent.futures.ThreadPoolExecutor(
            options.batch_size + options.new_batch_threshold, thread_name_prefix=f"{THREAD_PREFIX}queue-{spec.name}"
        )
        self._thread = threading.Thread(target=self._poll, name=f"{THREAD_PREFIX}listener-{spec.name}", daemon=True)
        self._abandoned: concurrent.futures.Future[None] = concurrent.futures.Future()  # done at shutdown

    def start(self) -> None:
        self._thread.start()

    def stop_receiving(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._held_changed:
            self._held_changed.notify_all()
        self._thread.join(timeout=10)

    def wait_released(self, timeout: float) -> bool:
        """Wait until every message received is deleted, released or poisoned; False if some are still held."""
        deadline = time.monotonic() + timeout
        with self._held_changed:
            while self._held > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._held_changed.wait(remaining)
            return True

    def shutdown(self) -> None:
        """End the workers. A message still held stays invisible until its lease ends, then comes back, as when a
        real host stops; call after the invoker's shutdown, so no worker waits on an invocation."""
        if not self._abandoned.done():
            self._abandoned.set_result(None)
        self._workers.shutdown(wait=True, cancel_futures=True)

    def wake(self) -> None:
        self._wake.set()

    @property
    def busy(self) -> bool:
        with self._held_changed:
            return self._held > 0

    def approximate_count(self) -> int:
        return int(self._queue.get_queue_properties().approximate_message_count or 0)

    def _poll(self) -> None:
        delay = MIN_POLLING_INTERVAL
        while not self._stop.is_set():
            with self._held_changed:
                while self._held > self._options.new_batch_threshold and not self._stop.is_set():
                    self._held_changed.wait()
            if self._stop.is_set():
                return
            try:
                batch = list(
                    self._queue.receive_messages(
                        messages_per_page=self._options.batch_size,
                        max_messages=self._options.batch_size,
                        visibility_timeout=LEASE_SECONDS,
                    )
                )
            except Exception as exc:
                logger.warning(
                    "queue receive failed",
                    extra=fields(event="queue_error", queue=self.spec.queue_name, error=str(exc)),
                )
                batch = []
            if not batch:
                # Randomized exponential back-off, as the extension's polling strategy does.
                self._wake.wait(delay * random.uniform(0.8, 1.0))
                if self._wake.is_set():
                    self._wake.clear()
                    delay = MIN_POLLING_INTERVAL
                else:
                    delay = min(delay * 2, self._options.max_polling_interval)
                continue
            delay = MIN_POLLING_INTERVAL
            with self._held_changed:
                self._held += len(batch)
            for message in batch:
                self._workers.submit(self._process, message)

    def _process(self, message: QueueMessage) -> None:
        try:
            count = int(message.dequeue_count or 0)
            if count > self._options.max_dequeue_count:
                # Seen more often than allowed, e.g. the host died while processing it: do not try again.
                self._to_poison(message, f"dequeue count {count} exceeds maxDequeueCount")
                return
            try:
                body = decode_message(message.content, self._options.message_encoding)
            except ValueError as exc:
                self._to_poison(message, str(exc))
                return
            outcome = self._run_holding_lease(message, body)
            if outcome.invocation.succeeded:
                self._queue.delete_message(message.id, message.pop_receipt)
            elif count >= self._options.max_dequeue_count:
                self._to_poison(message, f"message has reached maxDequeueCount of {self._options.max_dequeue_count}")
            else:
                self._queue.update_message(
                    message.id,
                    message.pop_receipt,
                    visibility_timeout=math.ceil(self._options.visibility_timeout),
                )
        except (HostStoppingError, concurrent.futures.CancelledError):
            logger.info(
                "host stopped before the message was processed; it comes back when its lease ends",
                extra=fields(event="queue_abandoned", queue=self.spec.queue_name, message_id=message.id),
            )
        except Exception as exc:
            # Storage errors while completing: the lease runs out and the message comes back later.
            logger.error(
                "queue message not completed",
                exc_info=exc,
                extra=fields(event="queue_error", queue=self.spec.queue_name, message_id=message.id),
            )
        finally:
            with self._held_changed:
                self._held -= 1
                self._held_changed.notify_all()

    def _run_holding_lease(self, message: QueueMessage, body: bytes) -> Outcome:
        """Invoke the function, renewing the message's invisibility every half lease until the invocation ends."""
        future = self._invoker.submit(self.function, _trigger_message(message, body))
        while True:
            lease = LEASE_SECONDS  # read each time: tests shorten it
            pending: list[concurrent.futures.Future[Any]] = [future, self._abandoned]
            concurrent.futures.wait(pending, lease / 2, concurrent.futures.FIRST_COMPLETED)
            if future.done():
                return future.result()
            if self._abandoned.done():
                raise HostStoppingError(f"host stopped while {self.function.name} ran")
            renewed = self._queue.update_message(message.id, message.pop_receipt, visibility_timeout=lease)
            message.pop_receipt = renewed.pop_receipt  # the old receipt no longer deletes the message

    def _to_poison(self, message: QueueMessage, reason: str) -> None:
        poison = self._accounts.queue(self._poison_spec)
        poison.send_message(message.content)  # the original content, still encoded, so it can be re-queued
        self._queue.delete_message(message.id, message.pop_receipt)
        logger.warning(
            "moved message to poison queue",
            extra=fields(
                event="poison",
                function=self.function.name,
                queue=self.spec.queue_name,
                poison_queue=self._poison_spec.queue_name,
                message_id=message.id,
                dequeue_count=message.dequeue_count,
                reason=reason,
            ),
        )


def _trigger_message(message: QueueMessage, body: bytes) -> func.QueueMessage:
    # azure.functions.queue.QueueMessage is the class the worker builds: it carries all the metadata.
    return TriggerMessage(  # type: ignore[no-untyped-call]
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        insertion_time=message.inserted_on,
        expiration_time=message.expires_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


def wait_until_drained(listeners: list[QueueListener], idle: Callable[[], bool], timeout: float) -> None:
    """Block until every trigger queue is empty, nothing is held and no invocation runs (twice in a row)."""
    deadline = time.monotonic() + timeout
    quiet_checks = 0
    while quiet_checks < 2:
        if time.monotonic() > deadline:
            state = {listener.spec.queue_name: listener.approximate_count() for listener in listeners}
            raise TimeoutError(f"queues not drained within {timeout:.0f} s: approximate counts {state}")
        quiet = idle() and all(not lst.busy and lst.approximate_count() == 0 for lst in listeners)
        quiet_checks = quiet_checks + 1 if quiet else 0
        time.sleep(0.05)
