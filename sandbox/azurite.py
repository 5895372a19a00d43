"""Azurite (Table + Queue) on free loopback ports, in memory, stopped by PID.

Azurite is installed into the project by npm (package.json pins azurite@3.35.0, the last release for Node 20).
`python -m sandbox.azurite [--data-dir DIR] [--table-port N] [--queue-port N]` runs it until Ctrl+C (or SIGTERM)
and prints the `AzureWebJobsStorage` connection string first; `python -m sandbox.stack` runs it with the rest of
the local world.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.processes import ROOT, free_port, stop, wait_for_port

# Azurite's well-known development account; it is public and grants nothing outside the emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    table_port: int
    queue_port: int
    pid: int

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.table_port}/{ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.queue_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint={self.table_endpoint};QueueEndpoint={self.queue_endpoint};"
        )


def _binary() -> str:
    path = ROOT / "node_modules" / ".bin" / "azurite"
    if not path.exists():
        raise RuntimeError("Azurite is not installed: run `make setup` (npm ci installs azurite@3.35.0)")
    return str(path)


@contextlib.contextmanager
def azurite(
    *, location: Path | None = None, table_port: int | None = None, queue_port: int | None = None
) -> Iterator[Azurite]:
    """Start Azurite's table and queue services; yield their endpoints; stop the process by PID.

    In memory by default. With `location` (a folder) the data persists, so a test can stop the emulator and start
    it again on the same ports (`table_port`, `queue_port`) and find its tables as they were.
    """
    table_port, queue_port = table_port or free_port(), queue_port or free_port()
    blob_port = free_port()
    persistence = ["--location", str(location)] if location is not None else ["--inMemoryPersistence"]
    argv = [
        _binary(),
        *persistence,
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--silent",
        "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
        "--tableHost", "127.0.0.1", "--tablePort", str(table_port),
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(table_port, proc=proc)
        wait_for_port(queue_port, proc=proc)
        yield Azurite(table_port, queue_port, proc.pid)
    finally:
        stop(proc)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from sandbox.processes import serve_until_signalled

    parser = argparse.ArgumentParser(
        prog="python -m sandbox.azurite",
        description="Run Azurite's table and queue services on loopback until Ctrl+C or SIGTERM. The first line "
        "printed is the connection string to use as AzureWebJobsStorage.",
    )
    parser.add_argument("--data-dir", type=Path, help="keep the data in this folder (default: in memory, lost on stop)")
    parser.add_argument("--table-port", type=int, help="table service port (default: a free one)")
    parser.add_argument("--queue-port", type=int, help="queue service port (default: a free one)")
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        storage = stack.enter_context(azurite(location=args.data_dir, table_port=args.table_port,
                                              queue_port=args.queue_port))  # fmt: skip
        serve_until_signalled(storage.connection_string, lambda: None)
    print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
