"""The Microsoft Graph calendar gateway.

Importing this package is cheap on purpose: it exposes only our own models and errors. The msgraph-sdk
(about 0.8–3.4 s and hundreds of modules to import) is loaded by `shared.graph.client` and
`shared.graph.gateway` only, so the webhook, which needs neither, stays fast to cold-start.

- `models`   our typed view of mailboxes, events, writes and results
- `errors`   what the gateway raises
- `client`   builds the one long-lived GraphServiceClient of the process from settings
- `gateway`  `CalendarGateway`: typed async calendar, delta, subscription and mail operations
- `batch`    JSON $batch writes with per-mailbox concurrency and inner-429 retries
- `retry`    Retry-After parsing and back-off; `middleware` applies it to every other request
"""

from shared.domain.events import CreateEvent, DeleteEvent, EventDraft, EventWrite, UpdateEvent, WriteResult
from shared.graph.errors import DeltaExpired, GraphAuthError, GraphError, GraphNotFound, GraphThrottled
from shared.graph.models import OPENAIR_PROPERTY_ID, DeltaResult, GraphEvent, Mailbox, Subscription

__all__ = [
    "OPENAIR_PROPERTY_ID",
    "CreateEvent",
    "DeleteEvent",
    "DeltaExpired",
    "DeltaResult",
    "EventDraft",
    "EventWrite",
    "GraphAuthError",
    "GraphError",
    "GraphEvent",
    "GraphNotFound",
    "GraphThrottled",
    "Mailbox",
    "Subscription",
    "UpdateEvent",
    "WriteResult",
]
