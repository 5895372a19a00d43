"""The OpenAir simulator: the XML API (`api.pl`) over real HTTP on loopback, with a `/_sim/` control API.

Modules follow a request: `server` (HTTP) → `service` (faults, Auth, rate limits) → `commands` / `read`
(the XML commands) → `store` (records and the `updated` clock); `wire` is the XML codec, `control` the
Python client of the control API.
"""

from sandbox.openair.control import SimulatorControl
from sandbox.openair.server import OpenAirSimulator

__all__ = ["OpenAirSimulator", "SimulatorControl"]
