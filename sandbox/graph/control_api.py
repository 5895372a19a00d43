"""The control API under `/_sim/` (a path real Graph never has; no auth): how tests and the demo steer the world.

Acting "as the user in Outlook" goes through the same mailbox code as the Graph API, so it changes changeKeys
and triggers notifications exactly like an API change would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.graph import events, mailbox, odata
from sandbox.graph.api import GraphApp
from sandbox.graph.errors import GraphError
from sandbox.graph.faults import Fault
from sandbox.graph.messages import Request, Response
from sandbox.graph.store import StoredEvent

PREFIX = "/_sim"
_FULL = events.RenderOptions(expand=odata.Expand(frozenset()), text_body_as_html=False)


def dump_event(event: StoredEvent) -> dict[str, Any]:
    """Everything about an event: Graph's UTC rendering with all extended properties, plus series internals."""
    out = events.render(event, _FULL)
    out["singleValueExtendedProperties"] = [
        {"id": spelled, "value": value} for spelled, value in event.extended.values()
    ]
    if event.type == "seriesMaster":
        out["exceptions"] = [dump_event(e) for e in event.exceptions.values()]
        out["cancelledOccurrences"] = sorted(s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in event.cancelled)
    return out


class ControlApi:
    def __init__(self, app: GraphApp, reset: Callable[[dict[str, Any] | None], None]) -> None:
        self.app = app
        self._reset = reset
        e = r"/mailboxes/([^/]+)/events"
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Request, list[str]], Response]]] = [
            (m, re.compile("^" + PREFIX + p + "/?$"), h)
            for m, p, h in [
                ("GET", r"/health", lambda r, g: Response(200, {"status": "ok"})),
                ("GET", r"/options", lambda r, g: Response(200, self.app.options.as_dict())),
                ("PATCH", r"/options", self.set_options),
                ("POST", r"/reset", self.reset),
                ("POST", r"/mailboxes/([^/]+)/state", self.set_mailbox_state),
                ("GET", e, self.list_events),
                ("POST", e, self.create_event),
                ("GET", e + r"/([^/]+)", self.get_event),
                ("PATCH", e + r"/([^/]+)", self.update_event),
                ("DELETE", e + r"/([^/]+)", self.delete_event),
                ("POST", e + r"/([^/]+)/decline", self.decline),
                ("POST", e + r"/([^/]+)/private", self.make_private),
                ("GET", r"/counters", lambda r, g: Response(200, self.app.counters.snapshot())),
                ("POST", r"/counters/reset", self.reset_counters),
                ("POST", r"/delta/expire", lambda r, g: Response(200, {"expired": self.app.delta.expire_all()})),
                ("GET", r"/subscriptions", self.subscriptions),
                ("POST", r"/subscriptions/([^/]+)/lifecycle", self.lifecycle),
                ("POST", r"/subscriptions/([^/]+)/expire", self.expire_subscription),
                ("GET", r"/notifications", lambda r, g: Response(200, {"value": list(self.app.notifier.deliveries)})),
                ("POST", r"/notifications/wait", self.wait_notifications),
                (
                    "GET",
                    r"/validations",
                    lambda r, g: Response(200, {"value": list(self.app.subscriptions.validations)}),
                ),
                ("GET", r"/faults", lambda r, g: Response(200, {"value": self.app.faults.active()})),
                ("POST", r"/faults", self.add_fault),
                ("DELETE", r"/faults", self.clear_faults),
                ("GET", r"/mail", lambda r, g: Response(200, {"value": list(self.app.store.sent_mail)})),
            ]
        ]

    def handle(self, req: Request) -> Response:
        for method, pattern, handler in self.routes:
            match = pattern.match(req.path)
            if match and method == req.method:
                try:
                    return handler(req, list(match.groups()))
                except GraphError as exc:
                    return Response(exc.status, {"error": {"code": exc.code, "message": exc.message}})
                except (ValueError, TypeError, KeyError) as exc:
                    return Response(400, {"error": {"code": "BadControlRequest", "message": str(exc)}})
        return Response(404, {"error": {"code": "UnknownControlRoute", "message": f"{req.method} {req.path}"}})

    @staticmethod
    def _body(req: Request) -> Any:
        return json.loads(req.body) if req.body else {}

    def set_options(self, req: Request, groups: list[str]) -> Response:
        self.app.options.update(self._body(req))
        return Response(200, self.app.options.as_dict())

    def reset(self, req: Request, groups: list[str]) -> Response:
        body = self._body(req)
        self._reset(body.get("data") if isinstance(body, dict) else None)
        return Response(200, {"status": "reset"})

    def reset_counters(self, req: Request, groups: list[str]) -> Response:
        self.app.counters.reset()
        return Response(200, self.app.counters.snapshot())

    def set_mailbox_state(self, req: Request, groups: list[str]) -> Response:
        body = self._body(req)
        return Response(200, mailbox.set_state(self.app.store, groups[0], str(body.get("state")), body.get("code")))

    def list_events(self, req: Request, groups: list[str]) -> Response:
        return Response(200, {"value": [dump_event(e) for e in mailbox.list_events(self.app.store, groups[0])]})

    def get_event(self, req: Request, groups: list[str]) -> Response:
        return Response(200, dump_event(mailbox.resolve(self.app.store, groups[0], groups[1])[0]))

    def create_event(self, req: Request, groups: list[str]) -> Response:
        event = mailbox.create(self.app.store, groups[0], self._body(req), as_user=True)
        return Response(201, dump_event(event))

    def update_event(self, req: Request, groups: list[str]) -> Response:
        return Response(
            200, dump_event(mailbox.update(self.app.store, groups[0], groups[1], self._body(req), as_user=True))
        )

    def delete_event(self, req: Request, groups: list[str]) -> Response:
        mailbox.delete(self.app.store, groups[0], groups[1], touch_series=self.app.options.occurrence_delete_signal)
        return Response(204)

    def decline(self, req: Request, groups: list[str]) -> Response:
        patch = {"responseStatus": {"response": "declined"}}
        return Response(200, dump_event(mailbox.update(self.app.store, groups[0], groups[1], patch, as_user=True)))

    def make_private(self, req: Request, groups: list[str]) -> Response:
        patch = {"sensitivity": "private"}
        return Response(200, dump_event(mailbox.update(self.app.store, groups[0], groups[1], patch, as_user=True)))

    def subscriptions(self, req: Request, groups: list[str]) -> Response:
        return Response(200, {"value": [s.to_json() for s in self.app.subscriptions.all()]})

    def lifecycle(self, req: Request, groups: list[str]) -> Response:
        sub = self.app.notifier.lifecycle(groups[0], str(self._body(req).get("event")))
        return Response(202, sub.to_json())

    def expire_subscription(self, req: Request, groups: list[str]) -> Response:
        self.app.subscriptions.expire(groups[0])
        return Response(204)

    def wait_notifications(self, req: Request, groups: list[str]) -> Response:
        timeout = float(self._body(req).get("timeout", 10))
        return Response(200, {"idle": self.app.notifier.wait_idle(timeout)})

    def add_fault(self, req: Request, groups: list[str]) -> Response:
        return Response(201, self.app.faults.add(Fault.from_json(self._body(req))).as_dict())

    def clear_faults(self, req: Request, groups: list[str]) -> Response:
        self.app.faults.clear()
        return Response(204)
