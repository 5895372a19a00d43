"""The local Functions host (`sandbox/host/`) runs `tests/sandbox/sample_app.py` as its decorators declare it:
HTTP with keys and limits, timers on schedule and on demand, queue triggers with retries and poison queue,
output bindings, the CLI's start and graceful stop. Azurite provides the queues.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from sandbox.azurite import Azurite
from sandbox.host import LocalHost, queues
from sandbox.host.hostjson import HostConfig, HostJsonError, parse_timespan
from sandbox.host.keys import HostKeys
from sandbox.host.loader import index_app
from sandbox.host.ncrontab import NcrontabError, Schedule
from sandbox.host.routes import RouteTable
from sandbox.host.settings import AppSettings
from sandbox.host.threads import host_threads
from tests.sandbox import sample_app
from tests.sandbox.sample_app import POISON_MARK, RECORD, SLOW_MARK

KEYS = {"FUNCTIONS_FUNCTION_KEY": "fn-key", "FUNCTIONS_HOST_KEY": "host-key", "FUNCTIONS_MASTER_KEY": "master-key"}
FAST_QUEUES = {"extensions": {"queues": {"maxPollingInterval": "00:00:00.200", "visibilityTimeout": "00:00:00"}}}
NEVER = "0 0 0 1 1 *"
EVERY_SECOND = "* * * * * *"


@pytest.fixture
def settings(azurite_service: Azurite) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]  # fresh queues per test, so tests never see each other's messages
    return {
        "AzureWebJobsStorage": azurite_service.connection_string,
        "WORK_QUEUE": f"work-{suffix}",
        "DONE_QUEUE": f"done-{suffix}",
        "TICK_SCHEDULE": NEVER,
        **KEYS,
    }


@pytest.fixture
def host(settings: dict[str, str]) -> Iterator[LocalHost]:
    RECORD.reset()
    with LocalHost(sample_app.app, settings, host_json=FAST_QUEUES, timers=False, max_body_bytes=64 * 1024) as h:
        yield h


def queue(settings: dict[str, str], name: str) -> QueueClient:
    """A client that speaks the host's default base64 message encoding."""
    return QueueClient.from_connection_string(
        settings["AzureWebJobsStorage"],
        name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
    )


def contents(client: QueueClient) -> list[str]:
    """Messages in the queue; none if the queue was never created (output queues appear on first write)."""
    try:
        return [m.content for m in client.peek_messages(max_messages=32)]
    except ResourceNotFoundError:
        return []


# --- HTTP ---------------------------------------------------------------------------------------------------


def test_anonymous_route_fills_route_params(host: LocalHost) -> None:
    response = httpx.get(f"{host.base_url}/api/hello/World")
    assert (response.status_code, response.text) == (200, "hello World")


def test_function_level_route_needs_a_key_in_query_or_header(host: LocalHost) -> None:
    url = f"{host.base_url}/api/items/7"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"code": "wrong"}).status_code == 401
    by_query = httpx.get(url, params={"code": "fn-key", "q": "x"})
    assert by_query.status_code == 200
    assert by_query.json()["route"] == {"id": "7"}
    assert by_query.json()["params"]["q"] == "x"
    for key in ("host-key", "master-key"):
        assert httpx.get(url, headers={"x-functions-key": key}).status_code == 200
    posted = httpx.post(f"{url}/red", headers={"x-functions-key": "fn-key"}, content=b"abc")
    assert posted.json() == {
        "route": {"id": "7", "tag": "red"},
        "params": {},
        "method": "POST",
        "body_bytes": 3,
        "has_key_header": True,
    }


def test_admin_level_route_takes_only_the_master_key(host: LocalHost) -> None:
    url = f"{host.base_url}/api/maintenance"
    assert httpx.post(url, params={"code": "fn-key"}).status_code == 401
    assert httpx.post(url, params={"code": "host-key"}).status_code == 401
    assert httpx.post(url, params={"code": "master-key"}).status_code == 202


def test_unknown_route_is_404_and_wrong_method_is_405(host: LocalHost) -> None:
    assert httpx.get(f"{host.base_url}/api/nothing-here").status_code == 404
    assert httpx.get(f"{host.base_url}/api/items/not-a-number", params={"code": "fn-key"}).status_code == 404
    assert httpx.get(f"{host.base_url}/hello/World").status_code == 404  # outside the /api prefix
    wrong = httpx.delete(f"{host.base_url}/api/items/7", params={"code": "fn-key"})
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"


def test_failing_function_is_a_generic_500_and_the_detail_stays_in_the_log(
    host: LocalHost, caplog: pytest.LogCaptureFixture
) -> None:
    response = httpx.get(f"{host.base_url}/api/boom")
    assert response.status_code == 500
    assert "db-7" not in response.text
    assert "Traceback" not in response.text
    logged = "\n".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "db-7" in logged
    assert host.invocations.count("boom", succeeded=False) == 1


def test_body_over_the_limit_is_413_and_async_function_gets_the_body(host: LocalHost) -> None:
    url = f"{host.base_url}/api/upload"
    assert httpx.post(url, content=b"x" * (64 * 1024 + 1)).status_code == 413
    chunked = httpx.post(url, content=iter([b"y" * 40 * 1024, b"y" * 40 * 1024]))  # no Content-Length
    assert chunked.status_code == 413
    ok = httpx.post(url, content=b"z" * 1000)
    assert (ok.status_code, ok.text) == (201, "1000")
    assert RECORD.get("upload") == [1000]


def test_route_prefix_comes_from_host_json_and_app_settings_override_it(settings: dict[str, str]) -> None:
    no_prefix = {"extensions": {"http": {"routePrefix": ""}}}
    with LocalHost(sample_app.app, settings, host_json=no_prefix, timers=False, queues=False) as h:
        assert httpx.get(f"{h.base_url}/hello/x").text == "hello x"
    overridden = {**settings, "AzureFunctionsJobHost__extensions__http__routePrefix": "v1"}
    with LocalHost(sample_app.app, overridden, host_json=no_prefix, timers=False, queues=False) as h:
        assert httpx.get(f"{h.base_url}/v1/hello/x").text == "hello x"
        assert httpx.get(f"{h.base_url}/hello/x").status_code == 404


def test_stop_finishes_an_invocation_in_flight(settings: dict[str, str]) -> None:
    host = LocalHost(sample_app.app, settings, host_json=FAST_QUEUES, timers=False, queues=False).start()
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(httpx.get(f"{host.base_url}/api/slow?seconds=0.8")))
    caller.start()
    assert host.invocations.wait_until(lambda log: log.in_flight == 1, timeout=5)
    assert host.stop() is True
    caller.join(5)
    assert answers[0].text == "finally"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{host.base_url}/api/hello/late")


def test_a_host_stopped_while_a_message_outlives_its_drain_leaves_no_thread_behind(settings: dict[str, str]) -> None:
    """The queue worker waiting on the invocation ends with the host (the invocation is cancelled); the message is
    not completed, so it comes back when its lease ends, as on Azure when an instance stops."""
    RECORD.reset()
    host = LocalHost(sample_app.app, settings, host_json=FAST_QUEUES, timers=False, drain_timeout=0.3).start()
    queue(settings, settings["WORK_QUEUE"]).send_message(f"{SLOW_MARK}60")
    assert host.invocations.wait_until(lambda log: log.in_flight == 1, timeout=10)
    assert host.stop() is False  # not drained: the function was still running
    assert host_threads(grace=5.0) == []
    assert contents(queue(settings, settings["DONE_QUEUE"])) == []


def test_a_stopped_host_closes_idle_keep_alive_connections(settings: dict[str, str]) -> None:
    """A client that keeps its connection open would hold a host thread until the 30 s idle timeout."""
    host = LocalHost(sample_app.app, settings, host_json=FAST_QUEUES, timers=False, queues=False).start()
    with httpx.Client() as client:
        assert client.get(f"{host.base_url}/api/hello/x").status_code == 200  # the connection stays open
        assert any(t.name.endswith("http-connection") for t in host_threads())
        host.stop()
        assert host_threads(grace=5.0) == []


# --- timers -------------------------------------------------------------------------------------------------


def test_timer_fires_on_demand_from_python_and_from_the_admin_api(host: LocalHost) -> None:
    invocation = host.fire_timer("tick")
    assert invocation.succeeded
    assert invocation.function == "tick"
    admin = f"{host.base_url}/admin/functions/tick"
    assert httpx.post(admin, json={"input": ""}, params={"code": "fn-key"}).status_code == 401
    assert httpx.post(admin, json={"input": ""}, headers={"x-functions-key": "master-key"}).status_code == 202
    assert host.invocations.wait_until(lambda log: log.count("tick") == 2, timeout=5)
    assert RECORD.get("tick") == [False, False]


def test_timer_fires_every_second_on_its_schedule(settings: dict[str, str]) -> None:
    RECORD.reset()
    with LocalHost(sample_app.app, {**settings, "TICK_SCHEDULE": EVERY_SECOND}, queues=False) as h:
        assert h.invocations.wait_until(lambda log: log.count("tick") >= 2, timeout=4)
        first, second = h.invocations.all("tick")[:2]
    assert timedelta(seconds=0.5) < second.started_at - first.started_at < timedelta(seconds=1.5)
    assert first.started_at.microsecond < 300_000  # on the whole second, as scheduled


def test_timer_runs_never_overlap_and_a_late_run_is_past_due(settings: dict[str, str]) -> None:
    RECORD.reset()
    RECORD.tick_seconds = 1.8  # longer than the schedule's period
    with LocalHost(sample_app.app, {**settings, "TICK_SCHEDULE": EVERY_SECOND}, queues=False) as h:
        on_demand = threading.Thread(target=h.fire_timer, args=("tick",))
        on_demand.start()  # holds the timer while the next scheduled tick comes due
        assert h.invocations.wait_until(lambda log: log.count("tick") >= 2, timeout=8)
        on_demand.join()
    assert RECORD.max_running_ticks == 1
    assert True in RECORD.get("tick")


def test_a_host_started_after_a_missed_occurrence_runs_it_once_past_due(
    settings: dict[str, str], tmp_path: Path
) -> None:
    """Azure's schedule monitor: occurrences missed while the app was down give one catch-up run, at start-up."""
    RECORD.reset()
    yearly = "0 0 0 1 1 *"  # never due during the test
    monitor = tmp_path / "schedule-status"
    with LocalHost(sample_app.app, {**settings, "TICK_SCHEDULE": yearly}, queues=False, schedule_monitor=monitor):
        pass  # nothing was missed: no status yet, no catch-up
    assert RECORD.get("tick") == []
    hours_ago = datetime.now(UTC) - timedelta(hours=3)  # three hourly occurrences missed, say
    (monitor / "tick.status.json").write_text(json.dumps({"Last": (hours_ago - timedelta(hours=1)).isoformat(),
                                                          "Next": hours_ago.isoformat()}))  # fmt: skip
    with LocalHost(sample_app.app, {**settings, "TICK_SCHEDULE": yearly}, queues=False, schedule_monitor=monitor) as h:
        assert h.invocations.wait_until(lambda log: log.count("tick") >= 1, timeout=5)
    assert RECORD.get("tick") == [True]  # one run, past due
    status = json.loads((monitor / "tick.status.json").read_text())
    assert datetime.fromisoformat(status["Next"]).year == datetime.now(UTC).year + 1
    with LocalHost(sample_app.app, {**settings, "TICK_SCHEDULE": yearly}, queues=False, schedule_monitor=monitor):
        pass
    assert RECORD.get("tick") == [True]  # caught up: nothing more


def test_of_hosts_sharing_the_schedule_monitor_one_runs_the_timer_and_the_other_takes_over(
    settings: dict[str, str], tmp_path: Path
) -> None:
    """Two instances of one app: the timer's singleton lock (a blob lease on Azure) lets one schedule it."""
    RECORD.reset()
    monitor = tmp_path / "schedule-status"
    app_settings = {**settings, "TICK_SCHEDULE": EVERY_SECOND}
    with LocalHost(sample_app.app, app_settings, queues=False, schedule_monitor=monitor) as one:
        assert one.invocations.wait_until(lambda log: log.count("tick") >= 1, timeout=5)
        with LocalHost(sample_app.app, app_settings, queues=False, schedule_monitor=monitor) as two:
            assert one.invocations.wait_until(lambda log: log.count("tick") >= 3, timeout=8)
            assert two.invocations.all("tick") == []
            assert two._timers["tick"].standby
            one.stop()  # the holder goes away: the standby host takes the timer over
            assert two.invocations.wait_until(lambda log: log.count("tick") >= 1, timeout=8)


# --- queues -------------------------------------------------------------------------------------------------


def test_queue_message_is_processed_and_outputs_are_written(host: LocalHost, settings: dict[str, str]) -> None:
    queued = httpx.post(f"{host.base_url}/api/enqueue", params={"code": "fn-key"}, content=b"from-http")
    assert queued.status_code == 202
    queue(settings, settings["WORK_QUEUE"]).send_message("from-sdk")
    host.drain_queues(timeout=15)
    seen = sorted(RECORD.get("work"))
    assert seen == [("from-http", 1, True, True), ("from-sdk", 1, True, True)]
    assert sorted(contents(queue(settings, settings["DONE_QUEUE"]))) == ["done:from-http", "done:from-sdk"]
    assert contents(queue(settings, settings["WORK_QUEUE"])) == []


def test_failing_message_is_retried_then_moved_to_poison(host: LocalHost, settings: dict[str, str]) -> None:
    queue(settings, settings["WORK_QUEUE"]).send_message(POISON_MARK)
    host.drain_queues(timeout=20)
    attempts = [count for body, count, _, _ in RECORD.get("work") if body == POISON_MARK]
    assert attempts == [1, 2, 3, 4, 5]  # maxDequeueCount defaults to 5
    assert contents(queue(settings, settings["WORK_QUEUE"] + "-poison")) == [POISON_MARK]
    assert contents(queue(settings, settings["DONE_QUEUE"])) == []  # no output from a failed invocation
    assert host.invocations.count("work", succeeded=False) == 5


def test_message_that_is_not_base64_goes_to_poison_at_once(host: LocalHost, settings: dict[str, str]) -> None:
    raw = QueueClient.from_connection_string(settings["AzureWebJobsStorage"], settings["WORK_QUEUE"])
    raw.send_message("plain text, not base64!")
    host.drain_queues(timeout=10)
    assert RECORD.get("work") == []
    poison = QueueClient.from_connection_string(settings["AzureWebJobsStorage"], settings["WORK_QUEUE"] + "-poison")
    assert [m.content for m in poison.peek_messages()] == ["plain text, not base64!"]


def test_max_dequeue_count_comes_from_host_json(settings: dict[str, str]) -> None:
    RECORD.reset()
    config = {"extensions": {"queues": {**FAST_QUEUES["extensions"]["queues"], "maxDequeueCount": 2}}}
    with LocalHost(sample_app.app, settings, host_json=config, timers=False) as h:
        queue(settings, settings["WORK_QUEUE"]).send_message(POISON_MARK)
        h.drain_queues(timeout=10)
    assert [count for _, count, _, _ in RECORD.get("work")] == [1, 2]


# --- the CLI ------------------------------------------------------------------------------------------------


def test_cli_prints_its_url_first_and_exits_0_on_sigterm(settings: dict[str, str], tmp_path: Path) -> None:
    local_settings = tmp_path / "local.settings.json"
    local_settings.write_text(json.dumps({"IsEncrypted": False, "Values": settings}))
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps(FAST_QUEUES))
    stderr = tmp_path / "stderr.log"
    argv = [sys.executable, "-m", "sandbox.host", "--app", "tests.sandbox.sample_app:app", "--port", "0"]
    argv += ["--settings", str(local_settings), "--host-json", str(host_json), "--no-timers"]
    with stderr.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=err)
        try:
            assert proc.stdout is not None
            first_line = proc.stdout.readline().decode().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", first_line)
            assert httpx.get(f"{first_line}/api/hello/cli").text == "hello cli"
            assert httpx.get(f"{first_line}/api/items/3", params={"code": "fn-key"}).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    log = stderr.read_text()
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    invocations = [e for e in events if e.get("event") == "invocation"]
    assert {e["function"] for e in invocations} == {"hello", "item"}
    assert all(e["outcome"] == "succeeded" and e["duration_ms"] >= 0 for e in invocations)
    assert "fn-key" not in log
    assert "code=" not in log


# --- units: schedules, routes, configuration, keys ----------------------------------------------------------


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 */5 * * * *", utc(2026, 3, 8, 1, 58, 30), utc(2026, 3, 8, 2, 0, 0)),  # a US DST night: UTC ignores it
        ("*/15 * * * * *", utc(2026, 1, 1, 10, 0, 7), utc(2026, 1, 1, 10, 0, 15)),
        ("0 30 9 * * 1-5", utc(2026, 11, 20, 10, 0, 0), utc(2026, 11, 23, 9, 30, 0)),  # Friday -> Monday
        ("0 0 0 13 * 5", utc(2026, 1, 1, 0, 0, 0), utc(2026, 2, 13, 0, 0, 0)),  # AND: Friday the 13th
        ("0 0 12 29 2 *", utc(2026, 3, 1, 0, 0, 0), utc(2028, 2, 29, 12, 0, 0)),
        ("0 0 8 * Jan,Jul Mon", utc(2026, 2, 1, 0, 0, 0), utc(2026, 7, 6, 8, 0, 0)),
        ("10-20/5 * * * * *", utc(2026, 1, 1, 0, 0, 15), utc(2026, 1, 1, 0, 0, 20)),
        ("5/20 * * * * *", utc(2026, 1, 1, 0, 0, 26), utc(2026, 1, 1, 0, 0, 45)),
        ("0 12 * * *", utc(2026, 1, 1, 12, 0, 0), utc(2026, 1, 2, 12, 0, 0)),  # five fields: second 0
        ("0 0 0 31 * *", utc(2026, 4, 1, 0, 0, 0), utc(2026, 5, 31, 0, 0, 0)),  # April has no 31st
        ("59 59 23 31 12 *", utc(2026, 12, 31, 23, 59, 59), utc(2027, 12, 31, 23, 59, 59)),
    ],
)
def test_ncrontab_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert Schedule.parse(expression).next_after(after) == expected


def test_ncrontab_agrees_with_a_second_by_second_scan() -> None:
    for expression in ("*/7 */3 * * * *", "15,45 * 1-3 * * *", "0 0-10/2 * * * 0,6", "30 59 23 * * *"):
        schedule = Schedule.parse(expression)
        for start in (utc(2026, 2, 28, 23, 58, 1), utc(2026, 6, 13, 0, 0, 0), utc(2026, 12, 31, 23, 59, 30)):
            scan = start + timedelta(seconds=1)
            while not schedule.matches(scan):
                scan += timedelta(seconds=1)
            assert schedule.next_after(start) == scan, (expression, start)


def test_ncrontab_reads_aware_times_in_utc_and_is_strictly_after() -> None:
    plus_two = timezone(timedelta(hours=2))
    schedule = Schedule.parse("0 0 * * * *")
    assert schedule.next_after(datetime(2026, 7, 1, 12, 0, 0, tzinfo=plus_two)) == utc(2026, 7, 1, 11, 0, 0)
    assert schedule.next_after(utc(2026, 7, 1, 10, 0, 0)) == utc(2026, 7, 1, 11, 0, 0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "6 fields"),
        ("60 * * * * *", "outside 0-59"),
        ("* * * * * 7", "outside 0-6"),
        ("*/0 * * * * *", "positive"),
        ("0 0 0 * Foo *", "not a number"),
        ("0 0 9-5 * * *", "backwards"),
    ],
)
def test_ncrontab_refuses_bad_expressions(expression: str, message: str) -> None:
    with pytest.raises(NcrontabError, match=message):
        Schedule.parse(expression)


def test_ncrontab_schedule_that_never_fires_says_so() -> None:
    with pytest.raises(NcrontabError, match="never fires"):
        Schedule.parse("0 0 0 30 2 *").next_after(utc(2026, 1, 1))


def test_routes_prefer_the_most_specific_template() -> None:
    table: RouteTable[str] = RouteTable()
    for template in ("files/{*rest}", "items/{id}", "items/latest", "items/{id:int}/{tag?}"):
        table.add(template, template)
    assert table.match("items/latest")[0] == ("items/latest", {})
    assert table.match("Items/42")[0] == ("items/{id:int}/{tag?}", {"id": "42"})
    assert table.match("items/abc")[0] == ("items/{id}", {"id": "abc"})
    assert table.match("files/a/b%20c.txt")[0] == ("files/{*rest}", {"rest": "a/b c.txt"})
    assert table.match("other") == []


def test_host_json_settings_defaults_and_overrides() -> None:
    defaults = HostConfig.load(None, {})
    assert (defaults.route_prefix, defaults.queues.batch_size, defaults.queues.new_batch_threshold) == ("api", 16, 8)
    assert (defaults.queues.max_dequeue_count, defaults.queues.max_polling_interval) == (5, 60.0)
    document = {"Extensions": {"Queues": {"BatchSize": 4, "visibilityTimeout": "00:00:30"}}}
    config = HostConfig.load(document, {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "2"})
    assert (config.queues.batch_size, config.queues.new_batch_threshold) == (4, 2)
    assert (config.queues.visibility_timeout, config.queues.max_dequeue_count) == (30.0, 2)
    assert parse_timespan("1.00:00:00.250") == 86400.25
    with pytest.raises(HostJsonError, match="TimeSpan"):
        HostConfig.load({"extensions": {"queues": {"maxPollingInterval": 2}}}, {})
    with pytest.raises(HostJsonError, match="between 1 and 32"):
        HostConfig.load({"extensions": {"queues": {"batchSize": 64}}}, {})


def test_function_with_an_unset_setting_is_in_error_and_the_others_still_load(settings: dict[str, str]) -> None:
    partial = AppSettings({k: v for k, v in settings.items() if k != "TICK_SCHEDULE"})
    index = index_app(sample_app.app, partial)
    assert [(s.name, s.in_error) for s in index.skipped] == [("tick", True)]
    assert "TICK_SCHEDULE" in index.skipped[0].reason
    assert index.by_name("work") is not None
    assert index.by_name("hello") is not None


def test_keys_from_settings_or_generated_per_run() -> None:
    given = HostKeys.from_settings(KEYS)
    assert given.generated == ()
    assert given.permits("function", "host-key")
    assert not given.permits("admin", "host-key")
    assert given.permits("anonymous", None)
    assert not given.permits("function", None)
    made = HostKeys.from_settings({})
    assert len({made.function, made.host, made.master}) == 3
    assert len(made.generated) == 3


# --- time limits: functionTimeout and the front end's 230 s -------------------------------------------------


def test_an_http_answer_later_than_the_front_ends_limit_is_cut_and_the_invocation_runs_on(
    settings: dict[str, str],
) -> None:
    with LocalHost(sample_app.app, settings, host_json=FAST_QUEUES, timers=False, http_response_limit=0.3) as host:
        cut = httpx.get(f"{host.base_url}/api/slow", params={"seconds": "1.5"}, timeout=30)
        assert cut.status_code == 502
        assert host.invocations.wait_until(lambda log: log.count("slow", succeeded=True) == 1, timeout=30)


def test_function_timeout_from_host_json_fails_the_invocation(settings: dict[str, str]) -> None:
    with LocalHost(sample_app.app, settings, host_json={"functionTimeout": "00:00:00.300"}, timers=False) as host:
        answer = httpx.get(f"{host.base_url}/api/slow", params={"seconds": "1.5"}, timeout=30)
        assert answer.status_code == 500
        (record,) = host.invocations.all("slow")
        assert (record.succeeded, record.error) == (False, "FunctionTimeoutError")


def test_function_timeout_defaults_to_flex_consumptions_30_minutes_and_minus_one_is_unbounded() -> None:
    assert HostConfig.load(None, {}).function_timeout == 1800.0
    assert HostConfig.load({"functionTimeout": "-1"}, {}).function_timeout is None
    assert HostConfig.load({"functionTimeout": "00:10:00"}, {}).function_timeout == 600.0
    assert HostConfig.load(Path("host.json"), {}).function_timeout == 600.0  # the app's own host.json


def test_a_message_processed_longer_than_its_lease_keeps_it_and_runs_once(
    settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extension renews the lease while the function runs: no second worker gets the message meanwhile."""
    monkeypatch.setattr(queues, "LEASE_SECONDS", 2)  # 10 minutes on Azure; renewed every half lease
    RECORD.reset()
    with LocalHost(sample_app.app, settings, host_json=FAST_QUEUES, timers=False) as host:
        queue(settings, settings["WORK_QUEUE"]).send_message(f"{SLOW_MARK}4.5")
        host.drain_queues(timeout=60)
    runs = [event for event in RECORD.get("work") if event[0] == f"{SLOW_MARK}4.5"]
    assert [dequeue_count for _, dequeue_count, _, _ in runs] == [1]
    assert contents(queue(settings, settings["DONE_QUEUE"])) == [f"done:{SLOW_MARK}4.5"]
