"""The in-memory twins of the adapters, for the unit tests and the benchmarks; never deployed.

Each twin answers as its real adapter does (same methods, same errors) and lets a test inject what the real
service can do (outages, lost answers, edits made meanwhile):
- `openair`      `MemoryOpenAir`, the OpenAir source (`shared/openair/source.py`)
- `bookings`     `MemoryBookings`, the import's booking writes (`shared/openair/bookings.py`)
- `graph`        `MemoryCalendar`, the calendar gateway (`shared/graph/gateway.py`)
- `graph_delta`  `MemoryMailboxes`, the calendar gateway with delta queries and subscriptions, for the import
- `tables`       `MemoryTables`, Azure Table Storage (`shared/store/azure_backend.py`)

Product code (`shared/`, `blueprints/`, `function_app.py`) never imports this package, and `.funcignore` keeps it
out of the deploy package (tests/infra/test_funcignore.py checks both).
"""
