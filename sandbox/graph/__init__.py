"""A Microsoft Graph simulator for the calendar-sync sandbox, faithful enough that msgraph-sdk cannot tell.

`python -m sandbox.graph --port 0` serves it; `GraphSimulator(data).start()` runs it in-process;
`sandbox.graph.control.GraphControl` drives its `/_sim/` control API. Behaviour follows reference/graph.md.

Modules: options (every knob), store (state), messages (request/response), errors and timezones (Graph's
shapes), events (event JSON in/out), mailbox (calendar operations), recurrence (series expansion), odata
(query options), delta (calendarView/delta tokens), batch ($batch), throttle (per-mailbox limits), faults
(injected failures), subscriptions (+ validation handshake), notifier (webhook delivery), api (routing and
handlers), control_api (/_sim/), server (HTTP and GraphSimulator), control (client).
"""

from sandbox.graph.options import Options
from sandbox.graph.server import GraphSimulator

__all__ = ["GraphSimulator", "Options"]
