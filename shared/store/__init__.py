"""Azure Table Storage: the tables admins edit (mappings, show-as overrides, settings) and the tables the
product owns (links, outbox, cursors, user state, runs). One store (`SyncStore`, `store`) over the table interface
(`tables`) and two backends: Azure/Azurite (`azure_backend`) and the in-memory twin with the same ETag semantics
(`twins/tables.py`, outside the deploy package). Async code calls the store through `off_loop` (`offload`)."""
