"""`python -m sandbox.stack`: the whole local world for trying the product by hand, until Ctrl+C (or SIGTERM).

Starts Azurite (tables and queues), the OpenAir and Graph simulators serving the sample company, maps its users
(as `mappings refresh` would), and runs the function app under the local host with its timers on their schedule.
Prints every URL, key and setting to use, and writes them as a `local.settings.json`-shaped file so the command
line works against the same world (`python -m shared --settings FILE status`). Everything listens on loopback;
the keys are generated for this run. Stopping stops the host (letting invocations finish), the simulators and
Azurite, in that order, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from sandbox.azurite import azurite
from sandbox.graph import GraphSimulator
from sandbox.host.localhost import LocalHost
from sandbox.host.settings import AppSettings, export_to_environ
from sandbox.offline import map_users, product_settings
from sandbox.openair import OpenAirSimulator
from sandbox.processes import free_port
from sandbox.sample import CREDENTIALS

# The schedules the app ships with (README, Settings): the stack runs like a deployment, timers included.
SCHEDULES = {
    "EXPORT_SCHEDULE": "0 */2 * * * *",
    "IMPORT_SUBSCRIPTION_SCHEDULE": "0 7 * * * *",
    "IMPORT_RECONCILE_SCHEDULE": "0 */15 * * * *",
}


def stack_settings(storage: str, openair_url: str, graph_url: str, host_url: str) -> dict[str, str]:
    """The app settings of the local stack: the offline world's, the real schedules, keys for this run."""
    keys = {name: secrets.token_urlsafe(24) for name in (
        "FUNCTIONS_FUNCTION_KEY", "FUNCTIONS_HOST_KEY", "FUNCTIONS_MASTER_KEY", "WEBHOOK_CLIENT_STATE",
        "WEBHOOK_FUNCTION_KEY")}  # fmt: skip
    # Graph's key opens the two webhook functions only (named function keys, as `az functionapp function keys
    # set` makes them); administrators use the host key, which the app refuses to outsiders' routes.
    webhook = {f"FUNCTIONS_KEY__{function}__graph": keys["WEBHOOK_FUNCTION_KEY"]
               for function in ("graph_notifications", "graph_lifecycle")}  # fmt: skip
    return product_settings(storage, openair_url, graph_url, **SCHEDULES, **keys, **webhook,
                            WEBHOOK_BASE_URL=host_url)  # fmt: skip


def describe(env: Mapping[str, str], host_url: str, settings_file: Path, mapped: int) -> str:
    """What a person needs to use the stack, as printed on start."""
    key = env["FUNCTIONS_HOST_KEY"]
    return "\n".join([
        f"Function app        {host_url}/api/...",
        f"  admin API         {host_url}/api/manage/status   (header x-functions-key: {key}, the host key)",
        f"  status page       {host_url}/api/manage/status-page?code={key}",
        f"  keys              host {key}   master {env['FUNCTIONS_MASTER_KEY']}",
        f"                    function {env['FUNCTIONS_FUNCTION_KEY']}   Graph webhook {env['WEBHOOK_FUNCTION_KEY']}",
        f"OpenAir simulator   {env['OPENAIR_BASE_URL']}   company {CREDENTIALS['company']}, user "
        f"{CREDENTIALS['user']}, password {CREDENTIALS['password']}, API key {CREDENTIALS['api_key']}",
        f"  control API       {env['OPENAIR_BASE_URL']}/_sim/   (edit records as an OpenAir user would)",
        f"Graph simulator     {env['GRAPH_BASE_URL']}   (any bearer token)",
        f"Azurite             AzureWebJobsStorage={env['AzureWebJobsStorage']}",
        f"Timers              export {env['EXPORT_SCHEDULE']}, subscriptions {env['IMPORT_SUBSCRIPTION_SCHEDULE']}, "
        f"reconcile {env['IMPORT_RECONCILE_SCHEDULE']} (UTC); company zone {env['OPENAIR_COMPANY_TIMEZONE']}",
        f"Users mapped        {mapped}",
        f"Settings file       {settings_file}",
        f"Command line        python -m shared --settings {settings_file} status",
        "Stop                Ctrl+C",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.stack", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="function host port (0: a free one; default 7071)")
    parser.add_argument(
        "--settings-out",
        type=Path,
        default=Path("local.settings.stack.json"),
        help="settings for the CLI are written here (default ./local.settings.stack.json)",
    )
    parser.add_argument("--data-dir", type=Path, help="keep Azurite's data in this folder (default: in memory)")
    parser.add_argument("--no-map", action="store_true", help="leave UserMappings empty (map them yourself)")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    port = args.port or free_port()
    host_url = f"http://127.0.0.1:{port}"
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    openair, graph = OpenAirSimulator(), GraphSimulator()
    with azurite(location=args.data_dir) as storage:
        try:
            env = stack_settings(storage.connection_string, openair.start(), graph.start(), host_url)
            mapped = 0 if args.no_map else len(asyncio.run(map_users(env)).new)
            export_to_environ(AppSettings(env))  # the app reads os.environ, as on Azure
            args.settings_out.write_text(json.dumps({"IsEncrypted": False, "Values": env}, indent=1) + "\n")
            with LocalHost("function_app:app", env, port=port, timers=True) as host:
                print(host.base_url, flush=True)  # first line: the URL, for scripts
                print(describe(env, host.base_url, args.settings_out.resolve(), mapped), flush=True)
                print("ready", flush=True)
                stop.wait()
                print("stopping: the function host, the simulators, Azurite", file=sys.stderr, flush=True)
        finally:
            openair.stop()
            graph.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
