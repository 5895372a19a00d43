"""Azure Table Storage: the tables admins edit (mappings, show-as overrides, settings) and the tables the
product owns (links, outbox, cursors, user state, runs). One store over two backends: Azure/Azurite
(`azure_backend`) and an in-memory twin (`memory`) with the same ETag semantics."""
