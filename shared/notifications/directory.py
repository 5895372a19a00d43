"""The webhook's view of the Subscriptions table and of the clientState secret: light, cached, thread-safe."""

from __future__ import annotations

import threading
import time

from shared.errors import ConfigurationError
from shared.notifications.webhook import SubscriptionRef
from shared.runtime import Services


class SubscriptionDirectory:
    """Point reads of the Subscriptions table with a short cache: a burst of notifications costs one read per
    subscription, and an unknown id is re-checked after a few seconds (it may be one created a moment ago)."""

    def __init__(self, services: Services, *, ttl: float = 300.0, negative_ttl: float = 5.0) -> None:
        self._services = services
        self._ttl, self._negative_ttl = ttl, negative_ttl
        self._cache: dict[str, tuple[float, SubscriptionRef | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, subscription_id: str) -> SubscriptionRef | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(subscription_id)
        if hit is not None and now < hit[0]:
            return hit[1]
        record = self._services.store().imports.subscription(subscription_id)
        found = SubscriptionRef(record.user_id, record.mailbox_id) if record else None
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[subscription_id] = (now + (self._ttl if found else self._negative_ttl), found)
        return found


def client_state(services: Services) -> str:
    value = services.secrets.get("WEBHOOK_CLIENT_STATE")
    if not value:
        raise ConfigurationError("WEBHOOK_CLIENT_STATE is not set: the import cannot check Graph's notifications")
    return value
