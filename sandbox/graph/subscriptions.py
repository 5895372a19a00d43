"""Change-notification subscriptions: creation with Graph's validation handshake, renewal, quota, expiry.

Creating a subscription POSTs `?validationToken=...` to the notification URL (and the lifecycle URL) and only
succeeds if the endpoint echoes the decoded token with 200 within the timeout, exactly as Graph requires.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import secrets
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.graph import timezones
from sandbox.graph.errors import GraphError, bad_request
from sandbox.graph.options import Options
from sandbox.graph.store import Store

CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
_RESOURCE = re.compile(r"^/?users/([^/]+)/events/?$", re.IGNORECASE)
APPLICATION_ID = "3c8a5e1f-9b2d-4f6e-8a7c-1d2e3f4a5b6c"  # the simulated app registration


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def with_query(url: str, **params: str) -> str:
    """Append query parameters, keeping whatever query the URL already has (e.g. a function key `?code=`)."""
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + joiner + urllib.parse.urlencode(params)


@dataclass
class Subscription:
    id: str
    resource: str
    mailbox: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: dt.datetime
    client_state: str | None
    tls_version: str
    creator_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": APPLICATION_ID,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": timezones.format_instant(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": None,
            "latestSupportedTlsVersion": self.tls_version,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


class Subscriptions:
    """All subscriptions of the simulated app, plus the handshake that guards their creation."""

    def __init__(self, store: Store, options: Options) -> None:
        self.store = store
        self.options = options
        self._lock = threading.Lock()
        self._subs: dict[str, Subscription] = {}
        self.validations: list[dict[str, Any]] = []  # every handshake attempt, for inspection

    def reset(self) -> None:
        with self._lock:
            self._subs.clear()
            self.validations.clear()

    def _check_url(self, url: Any, name: str) -> str:
        if not isinstance(url, str) or not url:
            raise bad_request(f"{name} is required.", "InvalidRequest")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            return url
        if parts.scheme == "http" and is_loopback(parts.hostname) and self.options.allow_http_loopback_webhooks:
            return url  # a local test endpoint, explicitly allowed (real Graph never would)
        raise bad_request(f"The {name} must be an https URL ('{url}').", "InvalidRequest")

    def _check_expiry(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise bad_request("expirationDateTime is required.", "InvalidRequest")
        try:
            expiry = timezones.parse_instant(value)
        except GraphError as exc:
            raise bad_request(f"expirationDateTime '{value}' is not a valid date.", "InvalidRequest") from exc
        now = self.store.now()
        limit = self.options.max_subscription_minutes
        if expiry <= now:
            raise bad_request("Subscription expiration cannot be in the past.", "InvalidRequest")
        if expiry > now + dt.timedelta(minutes=limit):
            raise bad_request(f"Subscription expiration can only be {limit} minutes in the future.", "InvalidRequest")
        return expiry

    def validate_endpoint(self, url: str) -> None:
        """Graph's handshake: POST ?validationToken=…, expect 200 and the decoded token back within the timeout."""
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = with_query(url, validationToken=token)
        record: dict[str, Any] = {"url": url, "status": None, "ok": False}
        self.validations.append(record)
        failure = (
            "Subscription validation request failed. Notification endpoint "
            "must respond with 200 OK to validation request."
        )
        if self.options.loopback_only_delivery and not is_loopback(urllib.parse.urlsplit(url).hostname):
            record["error"] = "not delivered: the sandbox only reaches loopback"
            raise bad_request(failure, "ValidationError")
        try:
            with httpx.Client(timeout=self.options.validation_timeout_s, trust_env=False, verify=False) as client:  # noqa: S501 - loopback test endpoints
                answer = client.post(target, headers={"Content-Type": "text/plain; charset=utf-8"}, content=b"")
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            raise bad_request(failure, "ValidationError") from exc
        record["status"] = answer.status_code
        if answer.status_code != 200:
            raise bad_request(failure, "ValidationError")
        if answer.text != token:
            raise bad_request(
                "Subscription validation request failed. Response must exactly match validationToken query parameter.",
                "ValidationError",
            )
        record["ok"] = True

    def create(self, body: dict[str, Any]) -> Subscription:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a subscription.", "InvalidRequest")
        kinds = [k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip()]
        if not kinds or any(k not in CHANGE_TYPES for k in kinds):
            raise bad_request(
                f"changeType '{body.get('changeType')}' is not valid; use created, updated, deleted.", "InvalidRequest"
            )
        url = self._check_url(body.get("notificationUrl"), "notificationUrl")
        lifecycle = body.get("lifecycleNotificationUrl")
        if lifecycle is not None:
            lifecycle = self._check_url(lifecycle, "lifecycleNotificationUrl")
        resource = str(body.get("resource") or "")
        match = _RESOURCE.match(resource)
        if match is None:
            raise bad_request(
                f"Resource '{resource}' is not supported for subscriptions in this service.", "InvalidRequest"
            )
        user = self.store.user(match.group(1))
        taken = self.store.mailbox_states.get(user["id"]) if user is not None else None
        if taken is not None and taken[0] == "unlicensed":
            # microsoftgraph/microsoft-graph-docs#6869: a mailbox without REST (no licence) refuses subscriptions.
            raise GraphError(
                404,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: NotFound; Reason: "
                "REST API is not yet supported for this mailbox.]",
            )
        if user is None or taken is not None:
            raise GraphError(
                404,
                "ExtensionError",
                f"Operation: Create; Exception: [Status Code: NotFound; Reason: "
                f"The requested user '{match.group(1)}' is invalid.]",
            )
        expiry = self._check_expiry(body.get("expirationDateTime"))
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
            raise bad_request("clientState must be a string of at most 128 characters.", "InvalidRequest")
        tls = body.get("latestSupportedTlsVersion") or "v1_2"
        if tls not in TLS_VERSIONS:
            raise bad_request(f"latestSupportedTlsVersion '{tls}' is not valid.", "InvalidRequest")
        if body.get("includeResourceData"):
            raise bad_request(
                "includeResourceData requires encryptionCertificate and encryptionCertificateId.", "InvalidRequest"
            )
        with self._lock:
            self._purge_expired()
            if (
                sum(1 for s in self._subs.values() if s.mailbox == user["id"])
                >= self.options.max_subscriptions_per_mailbox
            ):
                raise GraphError(
                    403,
                    "ExtensionError",
                    "Operation: Create; Exception: [Status Code: Forbidden; Reason: The "
                    "number of subscriptions has exceeded the quota for this mailbox.]",
                )
        # The handshake happens outside the lock: the endpoint may take seconds to answer.
        self.validate_endpoint(url)
        if lifecycle is not None:
            self.validate_endpoint(lifecycle)
        sub = Subscription(
            id=str(uuid.uuid4()),
            resource=resource,
            mailbox=user["id"],
            change_types=tuple(kinds),
            notification_url=url,
            lifecycle_url=lifecycle,
            expiration=expiry,
            client_state=client_state,
            tls_version=tls,
            creator_id=secrets.token_hex(4) + "-0000-0000-0000-" + secrets.token_hex(6),
        )
        with self._lock:
            self._subs[sub.id] = sub
        return sub

    def _purge_expired(self) -> None:
        now = self.store.now()
        for sub_id in [s.id for s in self._subs.values() if s.expiration <= now]:
            del self._subs[sub_id]

    def get(self, sub_id: str) -> Subscription:
        with self._lock:
            self._purge_expired()
            sub = self._subs.get(sub_id)
        if sub is None:
            raise GraphError(404, "ResourceNotFound", f"The object was not found. Subscription Id '{sub_id}'.")
        return sub

    def all(self) -> list[Subscription]:
        with self._lock:
            self._purge_expired()
            return list(self._subs.values())

    def renew(self, sub_id: str, body: dict[str, Any]) -> Subscription:
        sub = self.get(sub_id)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a subscription.", "InvalidRequest")
        if "lifecycleNotificationUrl" in body and body["lifecycleNotificationUrl"] != sub.lifecycle_url:
            raise bad_request(
                "lifecycleNotificationUrl can only be set when the subscription is created.", "InvalidRequest"
            )
        if "expirationDateTime" in body:
            sub.expiration = self._check_expiry(body["expirationDateTime"])
        if "notificationUrl" in body and body["notificationUrl"] != sub.notification_url:
            url = self._check_url(body["notificationUrl"], "notificationUrl")
            self.validate_endpoint(url)
            sub.notification_url = url
        return sub

    def delete(self, sub_id: str) -> Subscription:
        sub = self.get(sub_id)
        with self._lock:
            self._subs.pop(sub_id, None)
        return sub

    def expire(self, sub_id: str) -> None:
        """Control API: make a subscription lapse now (it stops notifying and then disappears)."""
        sub = self.get(sub_id)
        sub.expiration = self.store.now() - dt.timedelta(seconds=1)

    def active_for(self, mailbox: str, change_type: str) -> list[Subscription]:
        now = self.store.now()
        with self._lock:
            return [
                s
                for s in self._subs.values()
                if s.mailbox == mailbox and change_type in s.change_types and s.expiration > now
            ]
