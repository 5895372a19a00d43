"""The product's error tree: everything it raises on purpose is a `SyncError`. Every message says what to fix.

    SyncError
    ├── ConfigurationError        a setting is missing or malformed
    ├── SyncPaused                a writing operation asked for while the sync is paused
    ├── BadMessage                a queue message that can never succeed (poisoned at once)
    ├── Incomplete                work that failed for a reason that passes: the queue retries it
    │   ├── MailboxIncomplete     (shared/sync/mailbox.py) some writes to a mailbox failed transiently
    │   ├── ImportIncomplete      (shared/sync/importing/engine.py) an import pass failed transiently
    │   └── LeaseLost             (shared/store/lease.py) the mailbox lease was lost while writing: stopped
    ├── PushRefused               (shared/push.py) a push that will never be accepted as sent (4xx)
    ├── Unrenderable              (shared/sync/render.py) one record cannot become an event
    ├── MissingDefaults           (shared/sync/importing/events.py) an import needs a setting the admin must fill
    ├── StoreError, GraphError, OpenAirError   (store/tables.py, graph/errors.py, openair/errors.py) a service
    │                             refused or failed, with their own branches
    └── the admin's refusals: BadRequest, CsvImportError, UnknownUser, UnknownRun, UsageError, MailboxBusy

Errors that are also a built-in kind keep it as a second base (BadMessage and Unrenderable are ValueErrors,
UnknownRun a LookupError), so a handler written for the built-in still catches them.
"""


class SyncError(Exception):
    """Base class for errors the product raises on purpose."""


class ConfigurationError(SyncError):
    """A setting is missing or malformed; the message names the setting and what is allowed."""


class SyncPaused(SyncError):
    """A writing operation asked for while the sync is paused (IntegrationSettings `Paused`); says how to resume."""


class BadMessage(SyncError, ValueError):
    """A queue message that can never succeed: the worker records it and it goes to the poison queue at once."""


class Incomplete(SyncError):
    """Work that failed for a reason that passes (throttling, an outage): the queue delivers the message again."""
