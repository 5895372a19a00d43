"""The engine: decides what each mailbox should contain and what to write. Pure of Azure Functions; it reaches
OpenAir, Graph and the store only through the ports in `ports.py`."""
