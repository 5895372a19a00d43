"""The engine: decides what each mailbox should contain and what to write. Pure of Azure Functions; it reaches
OpenAir and Graph only through the ports in `shared/ports/`, and the tables only through the state port, `SyncStore`
(`shared/store/store.py`)."""
