"""The OpenAir side: the XML API client (`client`), its typed records (`models`) and errors (`errors`).

Data enters the product here: `OpenAirClient.read_many` batches several paged Reads per HTTP request, the
typed reads (`typed`: `TypedRead`, `read_types`) parse rows into frozen models, and writes go back in batches of 1,000.
"""

from shared.openair.client import OpenAirClient, WriteResult
from shared.openair.errors import (
    OpenAirAuthError,
    OpenAirConditionFailed,
    OpenAirError,
    OpenAirInvalidRequest,
    OpenAirProtocolError,
    OpenAirRateLimited,
    OpenAirResponseTooLarge,
    OpenAirTransportError,
)
from shared.openair.reads import ReadSpec

__all__ = [
    "OpenAirAuthError",
    "OpenAirClient",
    "OpenAirConditionFailed",
    "OpenAirError",
    "OpenAirInvalidRequest",
    "OpenAirProtocolError",
    "OpenAirRateLimited",
    "OpenAirResponseTooLarge",
    "OpenAirTransportError",
    "ReadSpec",
    "WriteResult",
]
