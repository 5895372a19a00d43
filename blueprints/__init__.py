"""Function bindings, one blueprint per concern; `function_app.py` registers them. Thin: each function parses
its trigger, calls `shared`, and shapes the answer — no business rule lives here.

- `export`     the export timer (plan the tenant) and the per-mailbox export worker
- `importing`  Graph change-notification and lifecycle webhooks, subscription and reconciliation timers, import worker
- `push`       OpenAir's "After save" push endpoint and the per-record export worker
- `admin`      the administrators' HTTP endpoints (`/api/manage/...`) and the report timer
"""
