"""Operations administrators run (from the CLI, the admin endpoints or the demo): mapping refresh, CSV import,
resync, check, status. Each is one function over the ports, shared by every surface."""
