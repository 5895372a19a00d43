"""python -m sandbox.sample --out DIR [--anchor YYYY-MM-DD]: write openair.json and graph.json."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from sandbox.sample import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--anchor", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--users", type=int, default=36)
    parser.add_argument(
        "--incumbent", action="store_true", help="mailboxes hold the Exchange Integration Manager's events"
    )
    args = parser.parse_args()
    data = build(args.anchor, users=args.users, incumbent=args.incumbent)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("openair", "graph"):
        (args.out / f"{name}.json").write_text(json.dumps(data[name], indent=2) + "\n")
        print(args.out / f"{name}.json")


if __name__ == "__main__":
    main()
