"""What the engine and the admin operations need from the outside world, one module per boundary.

- `mailboxes`: Microsoft 365 through Graph — event writes and reads, delta, subscriptions, automatic replies, the
  mailbox directory, mail (adapter: `graph/gateway.py` CalendarGateway; twins: `twins/graph.py`,
  `twins/graph_delta.py`).
- `openair`: OpenAir — the tenant-wide and by-id reads, booking writes, the user directory (adapters:
  `openair/source.py`, `openair/by_id.py`, `openair/bookings.py`; twins: `twins/openair.py`, `twins/bookings.py`).
- The state (mappings, settings, links, outbox, cursors, user state, runs, imports, the mailbox lease, audit) is
  `shared/store/store.py` `SyncStore`: one typed class over the `TableBackend` seam (`store/tables.py`), with
  Azure Table Storage (`store/azure_backend.py`) and the in-memory twin (`twins/tables.py`) behind it. Async code
  calls it through `shared/store/offload.py` `off_loop`.

Each capability is declared once, as a small Protocol; a consumer's port is the union of the capabilities it uses
(the cutover's calendar writes and views events, the decommission's writes events and deletes subscriptions), so
the engine asks for no more than it calls and no method is declared twice. Adapters satisfy them structurally; the
engine imports these shapes and the adapters' data types, never an adapter's implementation.
"""
