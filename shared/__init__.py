"""OpenAir <-> Microsoft 365 calendar sync: everything that is not a function binding.

Layout (arrows point one way: bindings -> jobs -> sync -> ports; adapters never import the engine):
- `domain/`   the engine's vocabulary (links, outbox, events, settings, mappings, runs, snapshot), imported by all
- `kinds`     the record types as data (`KINDS`): every module iterates it, none lists the kinds
- `openair/`  the OpenAir XML API client and its typed records
- `graph/`    the Microsoft Graph calendar gateway (msgraph-sdk)
- `ports/`    what the engine needs from Graph and OpenAir (Protocols, one module per boundary)
- `store/`    Azure Table Storage state and admin tables, behind one typed state port (`SyncStore`); async code
              calls it through `off_loop` (`store/offload.py`)
- `sync/`     the engine that decides what to write
- `jobs/`     what each timer and queue worker does (export, push, importing, admin operations), the queue
              contracts and the run recorder
- `notifications/`  the Graph webhooks' light logic; `push` the form script's signed notice and the saves' passes
- `admin/`, `cli/`  operations for administrators: the admin API's handlers and the command line
              (`__main__`: `python -m shared`)
- `access`, `errors`, `logging_setup`, `redaction`  route keys, the error tree, structured logs without secrets
- `runtime`   the composition root: real adapters built from settings, once per process
- `settings`, `secrets`  configuration from the environment and Key Vault
- `timezones` zone names as OpenAir and Exchange write them, resolved to IANA zones
The adapters' in-memory twins live outside this package, in the top-level `twins/` (never deployed).
"""
