"""The Graph API surface: routing, auth, faults, throttling, latency, request counting and the handlers.

`GraphApp.handle` serves one request (top-level or a `$batch` item) and always returns a `Response`; the HTTP
server and the batch runner are thin layers around it.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.graph import batch, events, mailbox, odata, timezones
from sandbox.graph.delta import DeltaTokens
from sandbox.graph.errors import GraphError, bad_request, error_body
from sandbox.graph.faults import CloseConnection, Faults
from sandbox.graph.messages import JSON_TYPE, Request, Response
from sandbox.graph.notifier import Notifier
from sandbox.graph.options import Options
from sandbox.graph.store import Store, StoredEvent
from sandbox.graph.subscriptions import Subscriptions
from sandbox.graph.throttle import MailboxThrottle

Handler = Callable[[Request, list[str]], Response]
_U = r"users/([^/]+)"
_E = r"(?:calendar/)?events"
_CV = r"(?:calendar/)?calendarView"
USER_DEFAULT_FIELDS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
_SAFE = "$,()/:'"  # keep OData syntax readable in nextLinks, as Graph does
DELTA_REFUSED = ("$select", "$filter", "$expand", "$orderby", "$search")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str  # what counters call it, e.g. "GET /users/{id}/events/{id}"
    handler: Handler
    mailbox: bool  # Outlook resource: throttled per mailbox


_MC = r"/outlook/masterCategories"


class Counters:
    """Requests by kind: top-level by route template, `$batch` items separately, and the HTTP total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.http_total = 0
            self.routes: collections.Counter[str] = collections.Counter()
            self.batch_items: collections.Counter[str] = collections.Counter()
            self.statuses: collections.Counter[str] = collections.Counter()

    def count(self, kind: str, inner: bool, status: int) -> None:
        with self._lock:
            (self.batch_items if inner else self.routes)[kind] += 1
            self.statuses[str(status)] += 1

    def http(self) -> None:
        with self._lock:
            self.http_total += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "http_total": self.http_total,
                "routes": dict(self.routes),
                "batch_items": dict(self.batch_items),
                "statuses": dict(self.statuses),
            }


class GraphApp:
    def __init__(self, store: Store, options: Options) -> None:
        self.store = store
        self.options = options
        self.throttle = MailboxThrottle(options)
        self.faults = Faults()
        self.counters = Counters()
        self.delta = DeltaTokens(store, options)
        self.subscriptions = Subscriptions(store, options)
        self.notifier = Notifier(store, self.subscriptions, options)
        self.stopping = threading.Event()
        self.routes = self._routes()

    def _routes(self) -> list[Route]:
        table: list[tuple[str, str, str, Handler, bool]] = [
            ("GET", r"users", "/users", self.list_users, False),
            ("GET", _U, "/users/{id}", self.get_user, False),
            ("GET", _U + r"/mailboxSettings", "/users/{id}/mailboxSettings", self.mailbox_settings, True),
            ("PATCH", _U + r"/mailboxSettings", "/users/{id}/mailboxSettings", self.update_mailbox_settings, True),
            ("GET", _U + r"/mailboxSettings/timeZone", "/users/{id}/mailboxSettings/timeZone", self.mailbox_zone, True),
            ("GET", _U + _MC, "/users/{id}/outlook/masterCategories", self.list_categories, True),
            ("POST", _U + _MC, "/users/{id}/outlook/masterCategories", self.add_category, True),
            ("GET", _U + "/" + _E, "/users/{id}/events", self.list_events, True),
            ("POST", _U + "/" + _E, "/users/{id}/events", self.create_event, True),
            ("GET", _U + "/" + _E + r"/([^/]+)", "/users/{id}/events/{id}", self.get_event, True),
            ("PATCH", _U + "/" + _E + r"/([^/]+)", "/users/{id}/events/{id}", self.update_event, True),
            ("DELETE", _U + "/" + _E + r"/([^/]+)", "/users/{id}/events/{id}", self.delete_event, True),
            ("GET", _U + "/" + _E + r"/([^/]+)/instances", "/users/{id}/events/{id}/instances", self.instances, True),
            (
                "POST",
                _U + "/" + _E + r"/([^/]+)/(accept|decline|tentativelyAccept)",
                "/users/{id}/events/{id}/{response}",
                self.respond,
                True,
            ),
            ("GET", _U + "/" + _CV, "/users/{id}/calendarView", self.calendar_view, True),
            ("GET", _U + "/" + _CV + r"/delta(?:\(\))?", "/users/{id}/calendarView/delta", self.calendar_delta, True),
            ("POST", _U + r"/sendMail", "/users/{id}/sendMail", self.send_mail, True),
            ("POST", r"\$batch", "/$batch", self.batch, False),
            ("GET", r"subscriptions", "/subscriptions", self.list_subscriptions, False),
            ("POST", r"subscriptions", "/subscriptions", self.create_subscription, False),
            ("GET", r"subscriptions/([^/]+)", "/subscriptions/{id}", self.get_subscription, False),
            ("PATCH", r"subscriptions/([^/]+)", "/subscriptions/{id}", self.renew_subscription, False),
            ("DELETE", r"subscriptions/([^/]+)", "/subscriptions/{id}", self.delete_subscription, False),
            ("POST", r"subscriptions/([^/]+)/reauthorize", "/subscriptions/{id}/reauthorize", self.reauthorize, False),
        ]
        return [Route(m, re.compile(r"^/" + p + r"/?$", re.IGNORECASE), f"{m} {t}", h, mb) for m, p, t, h, mb in table]

    # ----- the request pipeline -------------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        """Serve one request; every failure becomes Graph's error shape with request ids."""
        request_id = str(uuid.uuid4())
        client_request_id = req.headers.get("client-request-id") or str(uuid.uuid4())
        if not req.inner:
            self.counters.http()
        kind = f"{req.method} (unknown route)"
        try:
            route, groups = self._match(req)
            kind = route.template
            if not req.inner:
                self._authenticate(req)
            response = self._run(route, groups, req)
        except GraphError as exc:
            response = Response(
                exc.status, error_body(exc.code, exc.message, request_id, client_request_id), dict(exc.headers)
            )
        self.counters.count(kind, req.inner, response.status)
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id", client_request_id)
        response.headers.setdefault(
            "x-ms-ags-diagnostic",
            '{"ServerInfo":{"DataCenter":"Sandbox","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SIM","ADSiteName":"LOOP"}}',
        )
        if response.body is not None and not isinstance(response.body, bytes):
            response.headers.setdefault("Content-Type", JSON_TYPE)
        if response.body is not None and not isinstance(response.body, bytes):
            response.headers.setdefault("OData-Version", "4.0")
        return response

    def _match(self, req: Request) -> tuple[Route, list[str]]:
        path_matched = False
        for route in self.routes:
            match = route.pattern.match(req.path)
            if match is None:
                continue
            path_matched = True
            if route.method == req.method:
                return route, list(match.groups())
        if path_matched:
            raise GraphError(
                405, "Request_BadRequest", f"The HTTP method '{req.method}' is not allowed for this resource."
            )
        raise GraphError(
            400, "BadRequest", f"Resource not found for the segment '{req.path.strip('/').split('/')[-1]}'."
        )

    def _authenticate(self, req: Request) -> None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        challenge = {
            "WWW-Authenticate": (
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                'client_id="00000003-0000-0000-c000-000000000000"'
            )
        }
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        if self.options.token is not None and token.strip() != self.options.token:
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", challenge
            )

    def _run(self, route: Route, groups: list[str], req: Request) -> Response:
        mailbox_keys: set[str] = set()
        user_id = None
        if route.template.split(" ", 1)[1].startswith("/users/{id}"):
            user = self.store.user(groups[0])
            user_id = user["id"] if user else groups[0].lower()
            mailbox_keys = {groups[0].lower(), user_id.lower()} | (
                {str(user.get("userPrincipalName", "")).lower()} if user else set()
            )
        fault = self.faults.take(req.method, req.raw_target or req.path, mailbox_keys, allow_close=not req.inner)
        if fault is not None:
            if fault.kind == "close":
                raise CloseConnection()
            if fault.kind == "lose":
                self._dispatch(route, groups, req, user_id, mailbox_keys)  # done, but the client never hears of it
                raise CloseConnection()
            if fault.kind == "hang":
                self.stopping.wait(fault.seconds)
                if not req.inner:
                    raise CloseConnection()
                raise GraphError(504, "GatewayTimeout", "The request timed out.")
            raise fault.error()
        return self._dispatch(route, groups, req, user_id, mailbox_keys)

    def _dispatch(
        self, route: Route, groups: list[str], req: Request, user_id: str | None, mailbox_keys: set[str]
    ) -> Response:
        if route.mailbox and user_id is not None:
            mailbox.check_available(self.store, groups[0])
            scope = self.options.access_scope
            if scope is not None and not mailbox_keys & {entry.lower() for entry in scope}:
                raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if route.mailbox and user_id is not None:
            with self.throttle.slot(user_id):
                self._latency()
                return route.handler(req, groups)
        self._latency()
        return route.handler(req, groups)

    def _latency(self) -> None:
        if self.options.latency_ms > 0:
            self.stopping.wait(self.options.latency_ms / 1000)

    # ----- helpers ----------------------------------------------------------------------------------------------

    def _render_options(self, req: Request, *, select: bool = True) -> tuple[events.RenderOptions, dict[str, str]]:
        prefer = req.prefer()
        applied: dict[str, str] = {}
        zone_name = prefer.get("outlook.timezone")
        if zone_name is not None:
            timezones.zone(zone_name)  # unknown zone: 400 TimeZoneNotSupportedException
            applied["Preference-Applied"] = f'outlook.timezone="{zone_name}"'
        body_type = prefer.get("outlook.body-content-type")
        if body_type is not None:
            body_type = body_type.lower()
            if body_type not in ("text", "html"):
                body_type = None
            else:
                applied["Preference-Applied"] = ", ".join(
                    filter(None, [applied.get("Preference-Applied"), f'outlook.body-content-type="{body_type}"'])
                )
        options = events.RenderOptions(
            zone_name=zone_name,
            body_type=body_type,
            select=odata.parse_select(req.query.get("$select")) if select else None,
            expand=odata.parse_expand(req.query.get("$expand")) if select else odata.Expand(None),
            text_body_as_html=self.options.text_body_as_html,
        )
        return options, applied

    def _page_size(self, req: Request, default: int) -> tuple[int, str | None]:
        raw = req.prefer().get("odata.maxpagesize")
        if raw is not None and raw.isdigit() and int(raw) > 0:
            return int(raw), f"odata.maxpagesize={int(raw)}"
        return default, None

    def _event_collection(self, req: Request, found: list[StoredEvent], base_path: str, context: str) -> Response:
        options, headers = self._render_options(req)
        if "$filter" in req.query:
            predicate = odata.parse_event_filter(req.query["$filter"])
            utc = events.RenderOptions(text_body_as_html=False)
            found = [e for e in found if predicate(events.render(e, utc), e.extended)]
        if "$orderby" in req.query:
            found = _order(found, req.query["$orderby"])
        size, applied = self._page_size(req, self.options.events_page_size)
        top = odata.parse_top(req.query.get("$top"), size)
        if applied and "$top" not in req.query:
            headers["Preference-Applied"] = ", ".join(filter(None, [headers.get("Preference-Applied"), applied]))
        skip = int(req.query.get("$skip", "0") or 0) if req.query.get("$skip", "0").isdigit() else 0
        page = found[skip : skip + top]
        body: dict[str, Any] = {
            "@odata.context": f"{req.base}/$metadata#{context}",
            "value": [events.render(e, options) for e in page],
        }
        if skip + top < len(found):
            query = {k: v for k, v in req.query.items() if k != "$skip"}
            query["$top"] = str(top)
            query["$skip"] = str(skip + top)
            body["@odata.nextLink"] = f"{req.base}{base_path}?{urllib.parse.urlencode(query, safe=_SAFE)}"
        return Response(200, body, headers)

    @staticmethod
    def _window(req: Request) -> tuple[dt.datetime, dt.datetime]:
        start, end = req.query.get("startdatetime"), req.query.get("enddatetime")
        if not start or not end:
            raise GraphError(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query "
                "string parameters StartDateTime and EndDateTime.",
            )
        return timezones.parse_instant(start), timezones.parse_instant(end)

    # ----- users ---------------------------------------------------------------------------------------------

    def _render_user(self, user: dict[str, Any], select: set[str] | None) -> dict[str, Any]:
        names = user.get("displayName", "").split(" ", 1)
        full = {
            "businessPhones": [],
            "givenName": names[0],
            "surname": names[-1] if len(names) > 1 else None,
            "jobTitle": None,
            "mobilePhone": None,
            "preferredLanguage": "en-US",
            **user,
        }
        wanted = select or set(USER_DEFAULT_FIELDS)
        return {k: full.get(k) for k in (*USER_DEFAULT_FIELDS, *sorted(full)) if k in wanted} | {"id": user["id"]}

    def list_users(self, req: Request, groups: list[str]) -> Response:
        users = [u for u in self.store.users if not mailbox.is_deleted_user(self.store, u["id"])]
        if "$filter" in req.query:
            predicate = odata.parse_event_filter(req.query["$filter"])
            users = [u for u in users if predicate(u, {})]
        select = odata.parse_select(req.query.get("$select"))
        top = odata.parse_top(req.query.get("$top"), self.options.users_page_size, 999)
        offset = _decode_skiptoken(req.query.get("$skiptoken"))
        page = users[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": f"{req.base}/$metadata#users",
            "value": [self._render_user(u, select) for u in page],
        }
        if offset + top < len(users):
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"} | {
                "$top": str(top),
                "$skiptoken": _encode_skiptoken(offset + top),
            }
            body["@odata.nextLink"] = f"{req.base}/users?{urllib.parse.urlencode(query, safe=_SAFE)}"
        return Response(200, body)

    def _directory_user(self, key: str) -> dict[str, Any]:
        user = self.store.user(key)
        if user is None or mailbox.is_deleted_user(self.store, key):
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        return user

    def get_user(self, req: Request, groups: list[str]) -> Response:
        user = self._directory_user(groups[0])
        body = {
            "@odata.context": f"{req.base}/$metadata#users/$entity",
            **self._render_user(user, odata.parse_select(req.query.get("$select"))),
        }
        return Response(200, body)

    def mailbox_settings(self, req: Request, groups: list[str]) -> Response:
        user = mailbox.user_or_404(self.store, groups[0])
        zone_name = (user.get("mailboxSettings") or {}).get("timeZone", "UTC")
        body = {
            "@odata.context": f"{req.base}/$metadata#users('{user['id']}')/mailboxSettings",
            "archiveFolder": "",
            "timeZone": zone_name,
            "delegateMeetingMessageDeliveryOptions": "sendToDelegateOutlookOnly",
            "dateFormat": "yyyy-MM-dd",
            "timeFormat": "HH:mm",
            "userPurpose": "user",
            "automaticRepliesSetting": self._replies(user),
            "language": {"locale": "en-US", "displayName": "English (United States)"},
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": {"name": zone_name},
            },
        }
        return Response(200, body)

    def _replies(self, user: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            stored = dict((user.get("mailboxSettings") or {}).get("automaticRepliesSetting") or {})
        replies = {"status": "disabled", "externalAudience": "all", "internalReplyMessage": "",
                   "externalReplyMessage": "", **stored}  # fmt: skip
        empty = {"dateTime": "", "timeZone": "UTC"}
        replies.setdefault("scheduledStartDateTime", empty)
        replies.setdefault("scheduledEndDateTime", empty)
        return replies

    def update_mailbox_settings(self, req: Request, groups: list[str]) -> Response:
        """PATCH mailboxSettings: automatic replies (https://learn.microsoft.com/graph/api/user-update-mailboxsettings)."""
        user = mailbox.user_or_404(self.store, groups[0])
        if not self.options.mailbox_settings_writable:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        body = req.json()
        replies = body.get("automaticRepliesSetting")
        if not isinstance(replies, dict):
            raise bad_request("The request body must set automaticRepliesSetting.", "ErrorInvalidRequest")
        merged = {**self._replies(user), **{k: v for k, v in replies.items() if v is not None}}
        if merged["status"] not in ("disabled", "alwaysEnabled", "scheduled"):
            raise bad_request(f"Cannot convert the literal '{merged['status']}' to automaticRepliesStatus.",
                              "RequestBodyRead")  # fmt: skip
        if merged["status"] == "scheduled":
            start, end = (
                timezones.to_utc(
                    timezones.parse_local(str(value.get("dateTime") or "")), timezones.zone(value.get("timeZone"))
                )
                for value in (merged["scheduledStartDateTime"], merged["scheduledEndDateTime"])
            )
            if end <= start:
                raise bad_request("The scheduled end time must be after the scheduled start time.",
                                  "ErrorInvalidScheduledOofDuration")  # fmt: skip
        with self.store.lock:
            user.setdefault("mailboxSettings", {})["automaticRepliesSetting"] = merged
        return self.mailbox_settings(req, groups)

    def mailbox_zone(self, req: Request, groups: list[str]) -> Response:
        user = mailbox.user_or_404(self.store, groups[0])
        value = (user.get("mailboxSettings") or {}).get("timeZone", "UTC")
        return Response(
            200,
            {"@odata.context": f"{req.base}/$metadata#users('{user['id']}')/mailboxSettings/timeZone", "value": value},
        )

    # ----- master categories (https://learn.microsoft.com/graph/api/outlookuser-post-mastercategories) ---------

    def list_categories(self, req: Request, groups: list[str]) -> Response:
        user = mailbox.user_or_404(self.store, groups[0])
        with self.store.lock:
            found = [dict(c) for c in user.setdefault("masterCategories", [])]
        context = f"{req.base}/$metadata#users('{user['id']}')/outlook/masterCategories"
        return Response(200, {"@odata.context": context, "value": found})

    def add_category(self, req: Request, groups: list[str]) -> Response:
        user = mailbox.user_or_404(self.store, groups[0])
        if not self.options.mailbox_settings_writable:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        body = req.json()
        name = body.get("displayName")
        color = body.get("color", "none")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("displayName is required.", "ErrorInvalidProperty")
        if not (color == "none" or (color.startswith("preset") and color[6:].isdigit() and int(color[6:]) <= 24)):
            expected = "the expected type 'microsoft.graph.categoryColor'"
            raise bad_request(f"Cannot convert the literal '{color}' to {expected}.", "RequestBodyRead")
        with self.store.lock:
            categories = user.setdefault("masterCategories", [])
            if any(c["displayName"].casefold() == name.casefold() for c in categories):
                raise GraphError(self.options.duplicate_category_status, "ErrorDuplicateCategory",
                                 f"A category with the display name '{name}' already exists.")  # fmt: skip
            created = {"id": str(uuid.uuid4()), "displayName": name, "color": color}
            categories.append(created)
        context = f"{req.base}/$metadata#users('{user['id']}')/outlook/masterCategories/$entity"
        return Response(201, {"@odata.context": context, **created})

    # ----- events ----------------------------------------------------------------------------------------------

    def list_events(self, req: Request, groups: list[str]) -> Response:
        found = mailbox.list_events(self.store, groups[0])
        return self._event_collection(req, found, f"/users/{groups[0]}/events", f"users('{groups[0]}')/events")

    def create_event(self, req: Request, groups: list[str]) -> Response:
        body = req.json()
        event = mailbox.create(self.store, groups[0], body, duplicate_status=self.options.duplicate_transaction_status)
        options, headers = self._render_options(req)
        headers["Location"] = f"{req.base}/users('{event.mailbox}')/events('{event.id}')"
        return Response(
            201,
            {
                "@odata.context": f"{req.base}/$metadata#users('{event.mailbox}')/events/$entity",
                **events.render(event, options),
            },
            headers,
        )

    def get_event(self, req: Request, groups: list[str]) -> Response:
        event, _ = mailbox.resolve(self.store, groups[0], groups[1])
        options, headers = self._render_options(req)
        return Response(
            200,
            {
                "@odata.context": f"{req.base}/$metadata#users('{event.mailbox}')/events/$entity",
                **events.render(event, options),
            },
            headers,
        )

    def update_event(self, req: Request, groups: list[str]) -> Response:
        event = mailbox.update(self.store, groups[0], groups[1], req.json())
        options, headers = self._render_options(req)
        return Response(
            200,
            {
                "@odata.context": f"{req.base}/$metadata#users('{event.mailbox}')/events/$entity",
                **events.render(event, options),
            },
            headers,
        )

    def delete_event(self, req: Request, groups: list[str]) -> Response:
        mailbox.delete(self.store, groups[0], groups[1], touch_series=self.options.occurrence_delete_signal)
        return Response(204)

    def respond(self, req: Request, groups: list[str]) -> Response:
        event, _ = mailbox.resolve(self.store, groups[0], groups[1])
        if event.props.get("isOrganizer", True):
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. You can't respond to "
                "this meeting because you're the meeting organizer.",
            )
        response = {"accept": "accepted", "decline": "declined", "tentativeaccept": "tentativelyAccepted"}[
            groups[2].lower()
        ]
        mailbox.update(self.store, groups[0], groups[1], {"responseStatus": {"response": response}}, as_user=True)
        return Response(202)

    def instances(self, req: Request, groups: list[str]) -> Response:
        start, end = self._window(req)
        found = mailbox.instances(self.store, groups[0], groups[1], start, end)
        return self._event_collection(
            req,
            found,
            f"/users/{groups[0]}/events/{groups[1]}/instances",
            f"users('{groups[0]}')/events('{groups[1]}')/instances",
        )

    def calendar_view(self, req: Request, groups: list[str]) -> Response:
        start, end = self._window(req)
        found = mailbox.calendar_view(self.store, groups[0], start, end)
        return self._event_collection(
            req, found, f"/users/{groups[0]}/calendarView", f"users('{groups[0]}')/calendarView"
        )

    def calendar_delta(self, req: Request, groups: list[str]) -> Response:
        refused = [name for name in DELTA_REFUSED if name in req.query]
        if refused:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"The following parameters are not supported with change tracking "
                f"over the 'CalendarView' resource: '{', '.join(refused)}'.",
            )
        options, headers = self._render_options(req, select=False)
        size, applied = self._page_size(req, self.options.delta_page_size)
        if applied:
            headers["Preference-Applied"] = ", ".join(filter(None, [headers.get("Preference-Applied"), applied]))
        user = mailbox.user_or_404(self.store, groups[0])
        if "$skiptoken" in req.query or "$deltatoken" in req.query:
            page = self.delta.resume(
                user["id"],
                req.base,
                delta=req.query.get("$deltatoken"),
                skip=req.query.get("$skiptoken"),
                page_size=size,
            )
        else:
            start, end = self._window(req)
            page = self.delta.start(user["id"], start, end, size)
        value: list[dict[str, Any]] = []
        for item in page.items:
            if isinstance(item, str):
                value.append({"@odata.type": "#microsoft.graph.event", "id": item, "@removed": {"reason": "deleted"}})
            else:
                value.append({"@odata.type": "#microsoft.graph.event", **events.render_delta_item(item, options)})
        link = f"{req.base}/users/{user['id']}/calendarView/delta"
        body: dict[str, Any] = {"@odata.context": f"{req.base}/$metadata#Collection(event)", "value": value}
        if page.next_token:
            body["@odata.nextLink"] = f"{link}?$skiptoken={page.next_token}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={page.delta_token}"
        return Response(200, body, headers)

    def send_mail(self, req: Request, groups: list[str]) -> Response:
        user = mailbox.user_or_404(self.store, groups[0])
        raw = req.json()
        # Action parameters are matched case-insensitively by Graph (msgraph-sdk sends "Message").
        body = {str(k)[:1].lower() + str(k)[1:]: v for k, v in raw.items()} if isinstance(raw, dict) else {}
        message = body.get("message")
        if not isinstance(message, dict):
            raise GraphError(400, "ErrorInvalidParameter", "The request body must contain a 'message'.")
        if not message.get("toRecipients") and not message.get("ccRecipients") and not message.get("bccRecipients"):
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                "At least one recipient is not valid., Recipient '' is not resolved. "
                "All recipients must be resolved before a message can be submitted.",
            )
        with self.store.lock:
            self.store.sent_mail.append(
                {
                    "from": user["id"],
                    "message": message,
                    "saveToSentItems": body.get("saveToSentItems", True),
                    "sentDateTime": timezones.format_instant(self.store.now()),
                }
            )
        return Response(202)

    # ----- batch and subscriptions -----------------------------------------------------------------------------

    def batch(self, req: Request, groups: list[str]) -> Response:
        if req.inner:
            raise GraphError(400, "BadRequest", "A batch request cannot contain another batch.")
        return batch.run(req, self.handle)

    def list_subscriptions(self, req: Request, groups: list[str]) -> Response:
        items = []
        for sub in self.subscriptions.all():
            entry = sub.to_json()
            entry.pop("@odata.context")
            items.append(entry)
        return Response(200, {"@odata.context": f"{req.base}/$metadata#subscriptions", "value": items})

    def create_subscription(self, req: Request, groups: list[str]) -> Response:
        return Response(201, self.subscriptions.create(req.json()).to_json())

    def get_subscription(self, req: Request, groups: list[str]) -> Response:
        return Response(200, self.subscriptions.get(groups[0]).to_json())

    def renew_subscription(self, req: Request, groups: list[str]) -> Response:
        return Response(200, self.subscriptions.renew(groups[0], req.json()).to_json())

    def delete_subscription(self, req: Request, groups: list[str]) -> Response:
        self.subscriptions.delete(groups[0])
        return Response(204)

    def reauthorize(self, req: Request, groups: list[str]) -> Response:
        self.subscriptions.get(groups[0])
        return Response(204)


def _encode_skiptoken(offset: int) -> str:
    return "RFNwdAIAAQAAAD" + urllib.parse.quote(f"{offset:08x}") + "AAAAAAAAAAAAAAAAAAAAA"


def _decode_skiptoken(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(token[14:22], 16)
    except ValueError as exc:
        raise GraphError(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ) from exc


def _order(found: list[StoredEvent], orderby: str) -> list[StoredEvent]:
    """`$orderby` on the fields a calendar client sorts by."""
    keys: dict[str, Callable[[StoredEvent], Any]] = {
        "start/datetime": events.utc_start,
        "end/datetime": events.utc_end,
        "createddatetime": lambda e: e.created,
        "lastmodifieddatetime": lambda e: e.modified,
        "subject": lambda e: str(e.props.get("subject", "")).lower(),
    }
    result = list(found)
    for clause in reversed([c.strip() for c in orderby.split(",") if c.strip()]):
        name, _, direction = clause.partition(" ")
        key = keys.get(name.lower())
        if key is None or direction.strip().lower() not in ("", "asc", "desc"):
            raise GraphError(
                400, "ErrorInvalidUrlQueryOrderBy", f"The $orderby expression '{clause}' is not supported."
            )
        result.sort(key=key, reverse=direction.strip().lower() == "desc")
    return result
