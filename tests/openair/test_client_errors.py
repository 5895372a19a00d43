"""Every error class: auth codes naming the setting, retries of 556 / 5xx / timeouts / malformed bodies."""

from __future__ import annotations

import httpx
import pytest

from sandbox.openair import SimulatorControl
from shared.errors import ConfigurationError, SyncError
from shared.openair import (
    OpenAirAuthError,
    OpenAirClient,
    OpenAirInvalidRequest,
    OpenAirProtocolError,
    OpenAirRateLimited,
    OpenAirTransportError,
)
from tests.openair.conftest import ClientFactory, RecordingSleep, secrets, settings_for


@pytest.mark.parametrize(
    ("settings", "secret_values", "code", "setting"),
    [
        ({"OPENAIR_COMPANY": "nobody"}, {}, 406, "check OPENAIR_COMPANY"),
        ({"OPENAIR_USER": "ghost"}, {}, 401, "OPENAIR_USER"),
        ({}, {"OPENAIR_PASSWORD": "wrong"}, 408, "check OPENAIR_PASSWORD"),
        ({"OPENAIR_NAMESPACE": "other"}, {}, 412, "OPENAIR_NAMESPACE"),
        ({}, {"OPENAIR_API_KEY": "not-the-key"}, 413, "OPENAIR_API_KEY"),
        ({}, {"OPENAIR_ACCESS_TOKEN": "expired"}, 401, "OPENAIR_ACCESS_TOKEN"),  # valid password beside it
    ],
)
async def test_auth_failures_name_the_setting_and_are_not_retried(
    make_client: ClientFactory, settings: dict[str, str], secret_values: dict[str, str], code: int, setting: str
) -> None:
    client = make_client(secret_values=secret_values, overrides=settings)
    with pytest.raises(OpenAirAuthError) as caught:
        await client.read_bookings()
    assert caught.value.code == code
    assert setting in str(caught.value)
    assert "Auth" in str(caught.value)
    assert isinstance(caught.value, SyncError)
    assert client.requests_made == 1
    assert make_client.sleep.waits == []


@pytest.mark.parametrize(
    ("code", "setting"),
    [(403, "set OPENAIR_COMPANY"), (404, "set OPENAIR_USER"), (405, "set OPENAIR_PASSWORD"),
     (415, "archived"), (421, "single sign-on"), (420, "OPENAIR_PASSWORD")],
)  # fmt: skip
async def test_each_documented_auth_code_names_what_to_fix(code: int, setting: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=f'<response><Auth status="{code}"></Auth></response>'.encode())

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = OpenAirClient(settings_for("https://demo.app.openair.com"), secrets(), http=http,
                               sleep=RecordingSleep())  # fmt: skip
        with pytest.raises(OpenAirAuthError, match=setting) as caught:
            await client.whoami()
    assert caught.value.code == code
    assert client.requests_made == 1


@pytest.mark.parametrize("code", [419, 422])
async def test_transient_auth_failures_are_retried(make_client: ClientFactory, control: SimulatorControl,
                                                   code: int) -> None:  # fmt: skip
    client = make_client()
    control.inject("auth", 2, status=code)
    assert len(await client.read_users()) == 3
    assert client.requests_made == 3


async def test_a_lasting_transient_auth_failure_is_raised_after_the_budget(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    client = make_client(rng=lambda: 1.0, OPENAIR_RETRY_BUDGET_SECONDS="4")
    control.inject("auth", 50, status=419)
    with pytest.raises(OpenAirAuthError, match="please retry") as caught:
        await client.read_users()
    assert caught.value.code == 419
    assert client.requests_made == 4


async def test_generic_domain_426_says_to_use_the_account_domain() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'<response><Auth status="426"></Auth></response>')

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = OpenAirClient(settings_for("https://app.openair.com"), secrets(), http=http, sleep=RecordingSleep())
        with pytest.raises(OpenAirAuthError, match="OPENAIR_BASE_URL must be the account-specific domain"):
            await client.whoami()


async def test_605_from_the_service_is_an_invalid_request() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = b'<response><Auth status="0"/><Read status="605"><errors>limit too large</errors></Read></response>'
        return httpx.Response(200, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = OpenAirClient(settings_for("https://demo.app.openair.com"), secrets(), http=http)
        with pytest.raises(OpenAirInvalidRequest, match=r"OpenAir error 605 on Read Booking: limit too large"):
            await client.read_bookings()


async def test_hostile_response_is_refused_without_retry() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        body = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><response><Auth status="0"/>&x;</response>'
        return httpx.Response(200, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = OpenAirClient(settings_for("https://demo.app.openair.com"), secrets(), http=http)
        with pytest.raises(OpenAirProtocolError, match="refused hostile XML"):
            await client.read_users()
    assert calls == 1


@pytest.mark.parametrize("missing", ["OPENAIR_API_KEY", "OPENAIR_PASSWORD"])
async def test_missing_secret_is_a_configuration_error_naming_it(make_client: ClientFactory, missing: str) -> None:
    client = make_client(secret_values={missing: ""})
    with pytest.raises(ConfigurationError, match=missing):
        await client.read_users()
    assert client.requests_made == 0


async def test_rate_limit_is_retried_then_succeeds(make_client: ClientFactory, control: SimulatorControl) -> None:
    client = make_client()
    control.inject("rate_limit", 2)
    assert len(await client.read_users()) == 3
    assert client.requests_made == 3
    assert make_client.sleep.waits == [0.25, 0.5]  # full jitter (rng 0.5) of 0.5 s, 1 s


async def test_rate_limit_beyond_the_budget_is_raised(make_client: ClientFactory, control: SimulatorControl) -> None:
    client = make_client(rng=lambda: 1.0, OPENAIR_RETRY_BUDGET_SECONDS="4")
    control.inject("rate_limit", 50)
    with pytest.raises(OpenAirRateLimited) as caught:
        await client.read_users()
    assert caught.value.code == 556
    assert "Auth" in str(caught.value)
    assert make_client.sleep.waits == [0.5, 1.0, 2.0]  # the next (4 s) would pass the 4 s budget
    assert client.requests_made == 4


async def test_real_per_minute_limit_answers_556(make_client: ClientFactory, control: SimulatorControl) -> None:
    control.configure(rate_per_minute=2)
    client = make_client(OPENAIR_RETRY_BUDGET_SECONDS="0")
    await client.read_users()
    await client.read_users()
    with pytest.raises(OpenAirRateLimited):
        await client.read_users()
    assert control.stats()["rejected"] == {"556": 1}


@pytest.mark.parametrize(
    ("kind", "options"),
    [("http", {"status": 503}), ("http", {"status": 500}), ("malformed", {}), ("slow", {"seconds": 1.0})],
)
async def test_transient_failures_are_retried(
    make_client: ClientFactory, control: SimulatorControl, kind: str, options: dict[str, float]
) -> None:
    client = make_client(OPENAIR_TIMEOUT_SECONDS="0.3")
    control.inject(kind, 2, **options)  # type: ignore[arg-type]
    assert len(await client.read_users()) == 3
    assert client.requests_made == 3
    assert len(make_client.sleep.waits) == 2


async def test_persistent_5xx_ends_with_a_transport_error(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    client = make_client(rng=lambda: 1.0, OPENAIR_RETRY_BUDGET_SECONDS="2")
    control.inject("http", 20, status=502)
    with pytest.raises(OpenAirTransportError) as caught:
        await client.read_users()
    assert caught.value.code == 502
    assert "Read User" in str(caught.value)


async def test_persistent_malformed_body_ends_with_a_protocol_error(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    client = make_client(rng=lambda: 1.0, OPENAIR_RETRY_BUDGET_SECONDS="2")
    control.inject("malformed", 20)
    with pytest.raises(OpenAirProtocolError, match="not well-formed"):
        await client.read_users()


async def test_plain_add_is_not_retried_after_a_transport_error(
    make_client: ClientFactory, control: SimulatorControl
) -> None:
    client = make_client()
    control.inject("http", 1, status=503)
    with pytest.raises(OpenAirTransportError):
        await client.add("Booking", [{"userid": "100", "startdate": "2026-05-01", "enddate": "2026-05-01"}])
    assert client.requests_made == 1
    control.inject("http", 1, status=503)  # with lookup="externalid" a repeat is harmless, so it is retried
    (result,) = await client.add(
        "Booking",
        [{"userid": "100", "startdate": "2026-05-01", "enddate": "2026-05-01", "externalid": "e1"}],
        lookup="externalid",
    )
    assert result.id
    assert client.requests_made == 3
