"""The jobs: what each queue worker and timer does, host-agnostic. The bindings in `blueprints/` call these.

- `export`      the export timer (plan the tenant) and the per-mailbox export worker
- `push`        the OpenAir push endpoint's check and the per-record export worker
- `importing`   the subscription and reconciliation timers and the per-mailbox import worker
- `operations`  the long admin operations (202 now, the result later in Runs) and their queue worker
- `contracts`   every queue name and message (encode, decode, `BadMessage`); standard library only at import
- `runs`        the run recorder: each run's Runs row, the poison rule, the run id and user on every log line

Kept light (no imports here): the webhook imports the queue contracts from this package on its cold start.
"""
