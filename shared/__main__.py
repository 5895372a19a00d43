"""`python -m shared …`: the administrators' command line (shared/cli)."""

from shared.cli.main import main

raise SystemExit(main())
