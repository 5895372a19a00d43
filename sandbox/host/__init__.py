"""The project's own thin local Functions host: `python -m sandbox.host`, or `LocalHost` from Python.

It reads the app's decorators only (`app.get_functions()`): routes, schedules and queues are never listed
a second time here. Modules: `loader` (index the app), `settings` and `hostjson` (configuration),
`invoker` (call functions, record invocations), `http`/`routes`/`keys` (HTTP triggers), `timers`/`ncrontab`
(timer triggers), `queues` (queue triggers and outputs), `localhost` (wiring), `__main__` (CLI).
"""

from sandbox.host.invoker import Invocation, InvocationLog
from sandbox.host.keys import HostKeys
from sandbox.host.localhost import FunctionNotFoundError, LocalHost

__all__ = ["FunctionNotFoundError", "HostKeys", "Invocation", "InvocationLog", "LocalHost"]
