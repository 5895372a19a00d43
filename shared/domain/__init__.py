"""The engine's vocabulary: the nouns the sync decides about, shared by the engine and every adapter.

- `links`     a record's link to its event, the outbox entry (the write the planner wants), per-user state
- `events`    the event the product wants in a mailbox (`EventDraft`), the writes, and the outcome of each
- `settings`  the administrators' policy (`IntegrationSettings`, its choices, the pause)
- `mappings`  who is synced: `UserMapping`, the mapping table as read, problems in typed rows
- `runs`      one run of a job as the history keeps it
- `snapshot`  what an export run reads before deciding and writes once it has decided

Arrows point in: the engine (`shared/sync`) and the adapters (`shared/store`, `shared/graph`, `shared/openair`) import
these modules; they import only the standard library, pydantic and `shared.kinds`. How a domain object becomes a
Table row or a Graph request is the adapter's business.
"""
