"""The OpenAir simulator on the wire: raw XML requests over HTTP, its control API, and its entry point."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import http.client
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_et
import httpx
import pytest
import yaml

from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.processes import run_printing_url
from tests.openair.conftest import company

PASSWORD_LOGIN = "<company>demo</company><user>admin</user><password>demo-password</password>"


@pytest.fixture
def sim() -> Iterator[OpenAirSimulator]:
    simulator = OpenAirSimulator(company(bookings=12))
    simulator.start("127.0.0.1", 0)
    yield simulator
    simulator.stop()


def envelope(commands: str, *, login: str = PASSWORD_LOGIN, key: str = "demo-key", namespace: str = "default") -> str:
    return (
        f'<?xml version="1.0"?><request API_version="1.0" client="test" client_ver="1" namespace="{namespace}" '
        f'key="{key}"><Auth><Login>{login}</Login></Auth>{commands}</request>'
    )


def post(sim: OpenAirSimulator, body: str | bytes) -> Element:
    response = httpx.post(f"{sim.url}/api.pl", content=body if isinstance(body, bytes) else body.encode())
    assert response.status_code == 200
    root: Element = safe_et.fromstring(response.content)
    return root


def statuses(root: Element) -> list[tuple[str, str]]:
    return [(child.tag, child.get("status", "")) for child in root]


def date_xml(value: dt.datetime) -> str:
    return (
        f"<Date><year>{value.year}</year><month>{value.month:02d}</month><day>{value.day:02d}</day>"
        f"<hour>{value.hour:02d}</hour><minute>{value.minute:02d}</minute><second>{value.second:02d}</second></Date>"
    )


READ_USERS = '<Read type="User" method="all" limit="0,1000"/>'
NEW_YEAR = date_xml(dt.datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("login", "key", "namespace", "code"),
    [
        # Oracle's codes: 403/404/405 company, user, password not supplied; 406 invalid company name; 401 no such
        # company/user/password; 408 bad password.
        ("<company></company><user>admin</user><password>demo-password</password>", "demo-key", "default", "403"),
        ("<company>demo</company><user></user><password>demo-password</password>", "demo-key", "default", "404"),
        ("<company>demo</company><user>admin</user><password></password>", "demo-key", "default", "405"),
        ("<company>acme</company><user>admin</user><password>demo-password</password>", "demo-key", "default", "406"),
        ("<company>demo</company><user>eve</user><password>demo-password</password>", "demo-key", "default", "401"),
        ("<company>demo</company><user>admin</user><password>guess</password>", "demo-key", "default", "408"),
        (PASSWORD_LOGIN, "demo-key", "elsewhere", "412"),
        (PASSWORD_LOGIN, "stolen-key", "default", "413"),
        (PASSWORD_LOGIN + "<access_token>forged</access_token>", "demo-key", "default", "401"),
        ("<access_token>demo-access-token</access_token>", "demo-key", "default", "0"),
    ],
)
def test_auth_codes(sim: OpenAirSimulator, login: str, key: str, namespace: str, code: str) -> None:
    root = post(sim, envelope(READ_USERS, login=login, key=key, namespace=namespace))
    assert root[0].tag == "Auth"
    assert root[0].get("status") == code
    if code == "0":
        assert statuses(root)[1] == ("Read", "0")
    else:
        assert len(root) == 1  # nothing ran


@pytest.mark.parametrize(("state", "code"), [("cancelled", "409"), ("archived", "415"), ("locked", "416")])
def test_accounts_that_can_no_longer_sign_in(state: str, code: str) -> None:
    data = company(bookings=1)
    data["accounts"] = [{**data["accounts"][0], "state": state}]
    simulator = OpenAirSimulator(data)
    simulator.start("127.0.0.1", 0)
    try:
        assert statuses(post(simulator, envelope(READ_USERS))) == [("Auth", code)]
    finally:
        simulator.stop()


@pytest.mark.parametrize("code", [419, 420, 421, 422])
def test_queued_auth_faults_answer_on_auth_and_pass(sim: OpenAirSimulator, code: int) -> None:
    SimulatorControl(sim.url).inject("auth", status=code)
    root = post(sim, envelope(READ_USERS))
    assert statuses(root) == [("Auth", str(code))]
    assert statuses(post(sim, envelope(READ_USERS)))[0] == ("Auth", "0")


def ids(root: Element) -> list[str | None]:
    return [b.findtext("id") for b in root[1]]


def test_a_token_read_misses_objects_created_after_the_token_until_the_cache_is_cleared(sim: OpenAirSimulator) -> None:
    token = "<access_token>demo-access-token</access_token>"
    read = '<Read type="Booking" method="all" limit="0,1000"{}/>'
    before = len(post(sim, envelope(read.format(""), login=token))[1])
    added = SimulatorControl(sim.url).create("Booking", {"userid": "100", "startdate": "2026-05-01",
                                                         "enddate": "2026-05-01"})  # fmt: skip
    assert added["id"] not in ids(post(sim, envelope(read.format(""), login=token)))
    assert added["id"] in ids(post(sim, envelope(read.format(""))))  # a password login has no such cache
    refreshed = post(sim, envelope(read.format(' clear_filter_cache="1"'), login=token))
    assert len(refreshed[1]) == before + 1
    assert added["id"] in ids(post(sim, envelope(read.format(""), login=token)))  # the refresh lasts


def test_unparseable_and_hostile_requests_get_status_1(sim: OpenAirSimulator) -> None:
    root = post(sim, "<request><Auth><Login>")
    assert root.tag == "response"
    assert root.get("status") == "1"
    assert "line 1" in (root.text or "")
    laughs = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><request>&a;</request>'
    root = post(sim, laughs)
    assert root.get("status") == "1"
    assert "not allowed" in (root.text or "")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ('<Read type="User" method="all"/>', "605"),
        ('<Read type="User" method="all" limit="0,1001"/>', "605"),
        ('<Read type="Planet" method="all" limit="10"/>', "603"),
        ('<Read type="User" method="random" limit="10"/>', "603"),
        ('<Read type="User" method="equal to" limit="10"><User><shoe_size>9</shoe_size></User></Read>', "602"),
        ('<Read type="User" method="all" limit="10" filter="newer-than" field="name">' + NEW_YEAR + "</Read>", "602"),
        ('<Read type="User" method="equal to" limit="10"><User><id>424242</id></User></Read>', "601"),
        ("<Dance/>", "5"),
    ],
)  # fmt: skip
def test_command_errors(sim: OpenAirSimulator, command: str, code: str) -> None:
    root = post(sim, envelope(command))
    assert statuses(root)[1][1] == code


def test_commands_answer_in_order_with_paging_limits(sim: OpenAirSimulator) -> None:
    root = post(
        sim,
        envelope(
            '<Read type="Booking" method="all" limit="10,5"/><Whoami/>'
            '<Read type="Booking" method="all" limit="4"/><Read type="Booking" method="not equal to" limit="100">'
            "<Booking><userid>100</userid></Booking></Read>"
        ),
    )
    assert [tag for tag, _ in statuses(root)] == ["Auth", "Read", "Whoami", "Read", "Read"]
    assert [b.findtext("id") for b in root[1]] == ["10010", "10011"]  # 12 bookings: offset 10 leaves 2
    assert root[2][0].findtext("nickname") == "admin"
    assert len(root[3]) == 4
    assert {b.findtext("userid") for b in root[4]} == {"101", "102"}


def test_dates_custom_fields_and_return(sim: OpenAirSimulator) -> None:
    root = post(sim, envelope('<Read type="BookingType" method="all" limit="1" enable_custom="1"/>'))
    booking_type = root[1][0]
    assert booking_type.findtext("calendar_export_type__c") == "Set event time as busy"
    assert booking_type.findtext("updated/Date/hour") == "09"
    # Present but empty, as in OpenAir's own responses; the offset only when asked for.
    assert booking_type.find("updated/Date/timezone") is not None
    assert booking_type.findtext("updated/Date/timezone") == ""
    SimulatorControl(sim.url).configure(instant_offsets=True)
    shown = post(sim, envelope('<Read type="BookingType" method="all" limit="1"/>'))[1][0]
    assert shown.findtext("updated/Date/timezone") == "-0500"
    SimulatorControl(sim.url).configure(instant_offsets=False)
    plain = post(sim, envelope('<Read type="BookingType" method="all" limit="1"/>'))[1][0]
    assert plain.find("calendar_export_type__c") is None
    assert plain.find("calendar_export_type") is None
    booking = post(sim, envelope('<Read type="Booking" method="all" limit="1"><_Return><startdate/></_Return></Read>'))[
        1
    ][0]
    assert [child.tag for child in booking] == ["id", "startdate"]
    assert booking.findtext("startdate/Date/day") == "02"
    assert booking.findtext("startdate/Date/hour") == ""


def test_updated_strictly_increases_and_boundary_is_configurable(sim: OpenAirSimulator) -> None:
    control = SimulatorControl(sim.url)
    stamps = [control.modify("Booking", "10000", {"notes": str(i)})["updated"] for i in range(3)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3
    last = dt.datetime.strptime(stamps[-1], "%Y-%m-%d %H:%M:%S")
    newer = f'<Read type="Booking" method="all" limit="100" filter="newer-than" field="updated">{date_xml(last)}</Read>'
    assert statuses(post(sim, envelope(newer)))[1] == ("Read", "601")  # exclusive: the record at the bound is out
    control.configure(filter_boundary="inclusive")
    assert [b.findtext("id") for b in post(sim, envelope(newer))[1]] == ["10000"]


def test_add_lookup_modify_on_condition_and_delete(sim: OpenAirSimulator) -> None:
    day = date_xml(dt.datetime(2026, 6, 1))
    add = (
        '<Add type="Booking" lookup="externalid"><Booking><userid>100</userid><externalid>x-1</externalid>'
        f"<startdate>{day}</startdate><enddate>{day}</enddate></Booking></Add>"
    )
    first = post(sim, envelope(add))[1][0]
    second = post(sim, envelope(add))[1][0]
    assert first.findtext("id") == second.findtext("id")
    record_id = first.findtext("id")
    old = date_xml(dt.datetime(2020, 1, 1))
    condition = (
        '<ModifyOnCondition type="Booking" condition="if-not-updated">'
        f"<Booking><id>{record_id}</id><notes>n</notes></Booking>{old}</ModifyOnCondition>"
    )
    assert statuses(post(sim, envelope(condition)))[1] == ("ModifyOnCondition", "1200")
    delete = f'<Delete type="Booking"><Booking><id>{record_id}</id></Booking></Delete>'
    assert statuses(post(sim, envelope(delete)))[1] == ("Delete", "0")
    deleted = post(sim, envelope('<Read type="Booking" method="all" limit="100" deleted="1"/>'))
    assert [b.findtext("id") for b in deleted[1]] == [record_id]


def test_rate_limits_per_minute_and_per_day() -> None:
    sim = OpenAirSimulator(company(bookings=1), rate_per_minute=2, rate_per_day=3)
    sim.start("127.0.0.1", 0)
    try:
        codes = [post(sim, envelope(READ_USERS))[0].get("status") for _ in range(3)]
        assert codes == ["0", "0", "556"]
        SimulatorControl(sim.url).configure(rate_per_minute=0)
        codes = [post(sim, envelope(READ_USERS))[0].get("status") for _ in range(2)]
        assert codes == ["0", "556"]  # the third accepted request of the day was the last
    finally:
        sim.stop()


def test_control_api_counts_faults_and_resets(sim: OpenAirSimulator) -> None:
    control = SimulatorControl(sim.url)
    post(sim, envelope(READ_USERS + READ_USERS + '<Read type="Booking" method="all" limit="5"/>'))
    stats = control.stats()
    assert stats["requests"] == 1
    assert stats["by_command"] == {"Read User": 2, "Read Booking": 1}
    control.inject("http", 1, status=502)
    assert httpx.post(f"{sim.url}/api.pl", content=envelope(READ_USERS)).status_code == 502
    control.inject("malformed", 1)
    assert b"<Boo" in httpx.post(f"{sim.url}/api.pl", content=envelope(READ_USERS)).content
    control.inject("rate_limit", 1)
    assert post(sim, envelope(READ_USERS))[0].get("status") == "556"
    created = control.create("User", {"name": "New Hire", "nickname": "new", "exchDefault_project": "7"})
    assert control.get("User", created["id"])["exchDefault_project"] == "7"
    control.delete("User", created["id"])
    control.reset()
    assert control.stats()["requests"] == 0
    assert len(control.records("Booking")) == 12


def test_keep_alive_serves_several_requests_on_one_connection(sim: OpenAirSimulator) -> None:
    host, port = sim.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        for _ in range(3):
            connection.request("POST", "/api.pl", body=envelope(READ_USERS))
            response = connection.getresponse()
            assert response.status == 200
            assert b'<Auth status="0"' in response.read()
    finally:
        connection.close()


def test_a_burst_of_saves_from_many_people_at_once_is_served_without_resets(sim: OpenAirSimulator) -> None:
    """bench.push_latency saves from 20 threads at once; with socketserver's listen backlog of 5 some of those
    connections were reset (ConnectionResetError), which OpenAir's own front end never does."""
    control = SimulatorControl(sim.url, timeout=30)
    template = control.records("Booking")[0]
    fields = {k: template[k] for k in ("projectid", "customerid", "booking_typeid", "userid", "startdate")}

    def save(n: int) -> str:
        try:
            control.create("Booking", {**fields, "enddate": template["startdate"], "hours": "1", "notes": f"b{n}"})
        except OSError as exc:
            return repr(exc)
        return ""

    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        failures = [f for f in pool.map(save, range(240)) if f]
    assert failures == []
    assert len(control.records("Booking")) == 12 + 240


def test_entry_point_prints_url_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    data: dict[str, Any] = company(bookings=3)
    path = tmp_path / "openair.yaml"
    path.write_text(yaml.safe_dump(data))
    argv = [sys.executable, "-m", "sandbox.openair", "--host", "127.0.0.1", "--port", "0", "--data", str(path)]
    with run_printing_url(argv) as started:
        assert started.first_line.startswith("http://127.0.0.1:")
        root = post_url(started.first_line, envelope('<Read type="Booking" method="all" limit="10"/>'))
        assert len(root[1]) == 3
        started.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while started.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.proc.returncode == 0


def post_url(url: str, body: str) -> Element:
    root: Element = safe_et.fromstring(httpx.post(f"{url}/api.pl", content=body.encode()).content)
    return root


def test_without_data_the_sample_company_is_served() -> None:
    sample = OpenAirSimulator()
    sample.start("127.0.0.1", 0)
    try:
        root = post(sample, envelope(READ_USERS))
        assert root[0].get("status") == "0"
        assert len(root[1]) == 36
    finally:
        sample.stop()


def test_rate_limit_reads_the_requests_left_in_the_24_hour_window(sim: OpenAirSimulator) -> None:
    SimulatorControl(sim.url).configure(rate_per_day=50)
    root = post(sim, envelope('<Read type="RateLimit" method="all" limit="1"/>'))
    assert statuses(root) == [("Auth", "0"), ("Read", "0")]
    assert root[1][0].tag == "RateLimit"
    assert root[1][0].findtext("remain_24h_error") == "49"  # this request counts
    wrong = post(sim, envelope('<Read type="RateLimit" method="equal to" limit="1"><RateLimit/></Read>'))
    assert statuses(wrong)[1] == ("Read", "603")


def test_custom_fields_are_written_only_with_enable_custom(sim: OpenAirSimulator) -> None:
    add = '<Add type="BookingType"{}><BookingType><name>X</name><calendar_export_type__c>Do not export' \
          "</calendar_export_type__c></BookingType></Add>"  # fmt: skip
    refused = post(sim, envelope(add.format("")))
    assert statuses(refused)[1] == ("Add", "602")
    assert "enable_custom" in (refused[1].findtext("errors") or "")
    assert statuses(post(sim, envelope(add.format(' enable_custom="1"'))))[1] == ("Add", "0")


def test_a_form_script_post_that_gets_no_answer_returns_code_500_like_nsoa_https_post() -> None:
    import socket

    from sandbox.openair.form_script import FormScriptHook

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # connects, never answers
    try:
        hook = FormScriptHook()
        hook.timeout_seconds = 0.3  # OpenAir waits 45 s
        hook.configure(f"http://127.0.0.1:{silent.getsockname()[1]}/api/openair/changed", "secret")
        hook.after_save("Booking", {"id": "7", "userid": "1"})
    finally:
        silent.close()
    state = hook.state()
    assert (state["last_status"], state["failed"], state["posted"]) == (500, 1, 0)
    assert "Client-Warning" in state["last_error"]


def test_deleted_records_are_purged_180_days_after_their_deletion(sim: OpenAirSimulator) -> None:
    """Oracle online help, "Data Deletion" (section_1521018146): deleted records are purged after 180 days, so a
    `deleted="1"` read no longer returns them, whatever its date filter."""
    control = SimulatorControl(sim.url)
    control.delete("Booking", "10000")
    control.delete("Booking", "10001")
    read = '<Read type="Booking" method="all" limit="100" deleted="1"/>'
    assert set(ids(post(sim, envelope(read)))) == {"10000", "10001"}
    assert control.age_deletions(179, "Booking", "10000") == 1
    assert set(ids(post(sim, envelope(read)))) == {"10000", "10001"}  # not yet
    old = date_xml(dt.datetime(2020, 1, 1))
    since = f'<Read type="Booking" method="all" limit="100" deleted="1" filter="newer-than">{old}</Read>'
    assert control.age_deletions(2, "Booking", "10000") == 1
    assert ids(post(sim, envelope(since))) == ["10001"]
    both = '<Read type="Booking" method="all" limit="1000" deleted="1" include_nondeleted="1"/>'
    assert "10000" not in ids(post(sim, envelope(both)))
    assert control.age_deletions(200) == 1  # only one deleted record is left to age
    assert statuses(post(sim, envelope(read)))[1] == ("Read", "601")
    assert [r["id"] for r in control.records("Booking")][:1] == ["10002"]  # live records are never purged
