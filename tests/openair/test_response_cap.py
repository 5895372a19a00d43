"""OpenAir responses are read as a stream with a size cap: a huge body is never held whole, a batch of reads
that answers too much is split, and one read that alone is too large fails with a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.openair import OpenAirSimulator
from shared.openair import OpenAirClient, OpenAirResponseTooLarge, ReadSpec
from tests.openair.conftest import RecordingSleep, company, secrets, settings_for

AUTH_OK = b'<?xml version="1.0"?>\n<response><Auth status="0"/><Read status="0">'


def client_with_cap(url: str, cap: int, http: httpx.AsyncClient | None = None) -> OpenAirClient:
    return OpenAirClient(settings_for(url), secrets(), http=http, sleep=RecordingSleep(), max_response_bytes=cap)


class Endless(httpx.AsyncByteStream):
    """A body that never ends: OpenAir (or whatever answers in its place) streaming record after record."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield AUTH_OK
        while True:
            self.sent += 1
            yield b"<Booking><notes>" + b"x" * 65_536 + b"</notes></Booking>"


async def test_an_endless_body_is_read_no_further_than_the_cap() -> None:
    body = Endless()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = client_with_cap("https://demo.app.openair.com", 1_000_000, http)
        with pytest.raises(OpenAirResponseTooLarge, match=r"Read Booking: response larger than 1,000,000 bytes"):
            await client.read_bookings()
    assert body.sent <= 16, f"read {body.sent} chunks of 64 KiB past a 1 MB cap"
    assert client.requests_made == 1, "the same request would get the same answer: not retried"


async def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=AUTH_OK + b"x" * 2_000 + b"</Read></response>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = client_with_cap("https://demo.app.openair.com", 1_000, http)
        with pytest.raises(OpenAirResponseTooLarge):
            await client.read_users()


@pytest.mark.parametrize("sim", [company(bookings=120, users=4)], indirect=True)
async def test_reads_answering_too_much_together_are_split_and_all_rows_arrive(sim: OpenAirSimulator) -> None:
    specs = [ReadSpec("Booking", query={"userid": str(100 + u)}) for u in range(4)]  # 30 bookings each
    async with client_with_cap(sim.url, 10_000_000) as roomy:
        together = await roomy.read_many(specs)
        assert roomy.requests_made == 1
    one_read = max(len(rows) for rows in together) * 700  # a booking is a few hundred bytes of XML
    async with client_with_cap(sim.url, one_read * 2) as tight:
        split = await tight.read_many(specs)
        assert tight.requests_made > 1, "the batch was over the cap: it must have been split"
    assert [sorted(r["id"] for r in rows) for rows in split] == [sorted(r["id"] for r in rows) for rows in together]
    assert [len(rows) for rows in split] == [30, 30, 30, 30]


@pytest.mark.parametrize("sim", [company(bookings=120, users=1)], indirect=True)
async def test_one_read_alone_over_the_cap_names_the_read_and_the_fix(sim: OpenAirSimulator) -> None:
    async with client_with_cap(sim.url, 5_000) as tight:
        with pytest.raises(OpenAirResponseTooLarge, match=r"Read Booking.*read fewer records per request"):
            await tight.read_bookings()
