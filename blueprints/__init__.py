"""Function bindings, one blueprint per concern; `function_app.py` registers them. Thin: each function parses
its trigger, calls `shared`, and shapes the answer — no business rule lives here.

- `export`     the export timer (plan the tenant) and the per-mailbox export worker
- `importing`  Graph change-notification and lifecycle webhooks, subscription and reconciliation timers, import worker
- `push`       OpenAir's "After save" push endpoint and the per-record export worker
- `admin`      the administrators' HTTP endpoints (`/api/manage/...`) and the report timer

The HTTP functions are tested by direct call, as the worker calls them (`tests/direct.py`: a built
`func.HttpRequest`, output bindings that keep what was set): tests/admin/test_handlers.py,
tests/notifications/test_webhook_handler.py, tests/push/test_push_handler.py. The local host's HTTP world is for
the end-to-end and proof suites (keys the host admits, queues, timers).
"""
