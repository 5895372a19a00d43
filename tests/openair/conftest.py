"""OpenAir test helpers: an in-process simulator on a free loopback port, and clients that never really sleep."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from sandbox.openair import OpenAirSimulator, SimulatorControl
from sandbox.sample import CREDENTIALS
from shared.openair import OpenAirClient
from shared.secrets import EnvironmentSecrets
from shared.settings import OpenAirSettings

COMPANY_ZONE = "America/New_York"
SEED_STAMP = "2026-03-01 09:00:00"  # company-zone wall clock of every seeded created/updated


class RecordingSleep:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def company(*, bookings: int = 20, users: int = 3, booking_types: int = 2) -> dict[str, Any]:
    """A small generated company in the sample's shape; bookings spread over the users."""
    records: dict[str, list[dict[str, Any]]] = {"User": [], "BookingType": [], "Booking": []}
    stamp = {"created": SEED_STAMP, "updated": SEED_STAMP}
    for i in range(users):
        records["User"].append(
            {"id": str(100 + i), **stamp, "name": f"User {i}", "nickname": f"u{i}", "active": "1",
             "timezone": "Europe/Berlin", "addr": {"email": f"u{i}@contoso.com"}, "exchDefault_project": ""}
        )  # fmt: skip
    for i in range(booking_types):
        records["BookingType"].append(
            {"id": str(200 + i), **stamp, "name": f"Type {i}", "active": "1", "priority": "1", "notes": "",
             "calendar_export_type": "Set event time as busy"}
        )  # fmt: skip
    start = dt.date(2026, 3, 2)
    for i in range(bookings):
        day = start + dt.timedelta(days=i % 60)
        records["Booking"].append(
            {"id": str(10_000 + i), **stamp, "userid": str(100 + i % users), "projectid": "", "project_taskid": "",
             "customerid": "", "booking_typeid": "200", "startdate": day.isoformat(), "enddate": day.isoformat(),
             "starttime": "", "endtime": "", "hours": "8.00", "percentage": "100", "as_percentage": "0",
             "notes": f"booking {i}", "approval_status": "A", "externalid": "", "ownerid": "", "repeatid": ""}
        )  # fmt: skip
    return {"company": {"id": "demo", "timezone": COMPANY_ZONE}, "accounts": [CREDENTIALS], "records": records}


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., OpenAirSimulator]]:
    started: list[OpenAirSimulator] = []

    def start(data: dict[str, Any] | None = None, **options: Any) -> OpenAirSimulator:
        sim = OpenAirSimulator(data if data is not None else company(), **options)
        sim.start("127.0.0.1", 0)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(request: pytest.FixtureRequest, sim_factory: Callable[..., OpenAirSimulator]) -> OpenAirSimulator:
    """The generated company, or `@pytest.mark.parametrize("sim", [data], indirect=True)` for other data."""
    return sim_factory(getattr(request, "param", None))


@pytest.fixture
def control(sim: OpenAirSimulator) -> SimulatorControl:
    return SimulatorControl(sim.url)


def settings_for(url: str, **values: Any) -> OpenAirSettings:
    base = {
        "OPENAIR_BASE_URL": url,
        "OPENAIR_COMPANY": "demo",
        "OPENAIR_USER": "admin",
        "OPENAIR_COMPANY_TIMEZONE": COMPANY_ZONE,
        "OPENAIR_RETRY_BUDGET_SECONDS": "30",
        "OPENAIR_TIMEOUT_SECONDS": "5",
    }
    return OpenAirSettings.model_validate({**base, **values})


def secrets(**values: str) -> EnvironmentSecrets:
    return EnvironmentSecrets({"OPENAIR_PASSWORD": "demo-password", "OPENAIR_API_KEY": "demo-key", **values})


class ClientFactory:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sleep = RecordingSleep()
        self.clients: list[OpenAirClient] = []

    def __call__(
        self,
        *,
        secret_values: dict[str, str] | None = None,
        overrides: dict[str, str] | None = None,
        rng: Callable[[], float] = lambda: 0.5,
        **settings: Any,
    ) -> OpenAirClient:
        merged = {**(overrides or {}), **settings}
        client = OpenAirClient(
            settings_for(self.url, **merged), secrets(**(secret_values or {})), sleep=self.sleep, rng=rng
        )
        self.clients.append(client)
        return client


@pytest.fixture
async def make_client(sim: OpenAirSimulator) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(sim.url)
    yield factory
    for client in factory.clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: ClientFactory) -> OpenAirClient:
    return make_client()
