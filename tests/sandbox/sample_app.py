"""A test-only function app exercising what the local host must run: every HTTP auth level, route
parameters, a failing route, an async route, a queue output binding, a `%SETTING%` timer that can overlap,
a blueprint queue trigger that fails for a marked message and writes its result through `$return`.

`RECORD` is what the functions saw, for the tests to read (the host runs them in the same process).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated

POISON_MARK = "poison-me"
SLOW_MARK = "slow:"  # `slow:2.5` takes 2.5 s


class Record:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.events: dict[str, list[Any]] = defaultdict(list)
            self.running_ticks = 0
            self.max_running_ticks = 0
            self.tick_seconds = 0.0

    def add(self, name: str, value: Any) -> None:
        with self.lock:
            self.events[name].append(value)

    def get(self, name: str) -> list[Any]:
        with self.lock:
            return list(self.events[name])


RECORD = Record()


@app.route(route="hello/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.route_params['name']}")


@app.route(route="items/{id:int}/{tag?}", methods=["GET", "POST"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    document = {
        "route": dict(req.route_params),
        "params": dict(req.params),
        "method": req.method,
        "body_bytes": len(req.get_body()),
        "has_key_header": "x-functions-key" in req.headers,
    }
    return func.HttpResponse(json.dumps(document), mimetype="application/json")


@app.route(route="maintenance", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def maintenance(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("maintenance done", status_code=202)


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("internal detail: connection to db-7 refused")


@app.route(route="upload", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def upload(req: func.HttpRequest) -> func.HttpResponse:
    RECORD.add("upload", len(req.get_body()))
    return func.HttpResponse(str(len(req.get_body())), status_code=201)


@app.route(route="slow", auth_level=func.AuthLevel.ANONYMOUS)
def slow(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(float(req.params.get("seconds", "1")))
    return func.HttpResponse("finally")


@app.route(route="enqueue", methods=["POST"])
@app.queue_output(arg_name="outbox", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, outbox: func.Out[str]) -> func.HttpResponse:
    outbox.set(req.get_body().decode())
    return func.HttpResponse("queued", status_code=202)


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    with RECORD.lock:
        RECORD.running_ticks += 1
        RECORD.max_running_ticks = max(RECORD.max_running_ticks, RECORD.running_ticks)
        pause = RECORD.tick_seconds
    RECORD.add("tick", timer.past_due)
    time.sleep(pause)
    with RECORD.lock:
        RECORD.running_ticks -= 1


@bp.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="$return", queue_name="%DONE_QUEUE%", connection="AzureWebJobsStorage")
async def work(msg: func.QueueMessage) -> str:
    body = msg.get_body().decode()
    RECORD.add("work", (body, msg.dequeue_count, msg.id is not None, msg.insertion_time is not None))
    if body == POISON_MARK:
        raise ValueError("this message is marked to fail")
    if body.startswith(SLOW_MARK):
        await asyncio.sleep(float(body.removeprefix(SLOW_MARK)))
    return f"done:{body}"


app.register_functions(bp)
