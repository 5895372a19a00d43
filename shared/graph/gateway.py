"""`CalendarGateway`: the product's only door to Microsoft Graph, typed on both sides.

Calls go through the real msgraph-sdk request builders; SDK models stop here and our models (models.py) come
out. Every request to a mailbox holds one of that mailbox's slots (limits.py), so reads and batched writes
together never exceed GRAPH_MAX_IN_FLIGHT_PER_MAILBOX. Throttling of single requests is retried by the HTTP
layer (middleware.py); what still fails is raised as a typed GraphError (errors.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection

from shared.domain.events import EventWrite, WriteResult, is_event_gone
from shared.graph import failures, parse
from shared.graph.batch import BatchedRequest, BatchWriter, InnerResponse
from shared.graph.client import GraphClient
from shared.graph.errors import GraphError, GraphNotFound
from shared.graph.limits import MailboxLimiter
from shared.graph.middleware import Sleep
from shared.graph.models import OPENAIR_PROPERTY_ID, AutomaticReplies, DeltaResult, GraphEvent, Mailbox, Subscription
from shared.graph.retry import RetryPolicy
from shared.settings import GraphSettings

T = TypeVar("T")

MAILBOX_FIELDS = ["id", "mail", "userPrincipalName", "displayName", "proxyAddresses"]
EVENT_CHANGE_TYPES = "created,updated,deleted"
# Readers want UTC times and plain-text bodies (Graph's default body is HTML).
READ_PREFERENCES = ('outlook.timezone="UTC"', 'outlook.body-content-type="text"')
# Events per calendarView page ($top): a mailbox with fewer events than this in the window is read in one request.
CALENDAR_VIEW_PAGE = 500
EXPAND_OPENAIR = f"singleValueExtendedProperties($filter=id eq '{OPENAIR_PROPERTY_ID}')"


def _quoted(value: str) -> str:
    """An OData string literal's inside: single quotes doubled."""
    return value.replace("'", "''")


def _utc_text(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("delta window bounds must be timezone-aware datetimes")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _config(query: Any = None, *, prefer: Sequence[str] = ()) -> RequestConfiguration[Any]:
    headers = HeadersCollection()
    for preference in prefer:
        headers.add("Prefer", preference)
    return RequestConfiguration(headers=headers, query_parameters=query)


class CalendarGateway:
    """Typed async operations on users, calendars, subscriptions and mail over one GraphClient."""

    def __init__(self, client: GraphClient, settings: GraphSettings, *, sleep: Sleep = asyncio.sleep) -> None:
        self._client = client
        self._graph: Any = client.service
        self._limiter = MailboxLimiter(settings.max_in_flight_per_mailbox)
        self._categories_known: set[tuple[str, str]] = set()
        self._writer = BatchWriter(
            client.service, self._limiter, RetryPolicy(budget_seconds=settings.retry_budget_seconds), sleep
        )

    async def aclose(self) -> None:
        """Close the HTTP pool and credential (end of a CLI run or a test; the Functions worker never needs to)."""
        await self._client.aclose()

    @property
    def requests_made(self) -> int:
        """HTTP requests sent through this gateway's client so far, retries included."""
        return self._client.traffic.requests

    @property
    def throttled_seen(self) -> int:
        """429 answers seen so far: to whole requests and to items inside $batch requests."""
        return self._client.traffic.throttled + self._writer.throttled_items

    def peak_in_flight(self, mailbox_id: str) -> int:
        """The most concurrent requests this gateway ever had running against one mailbox."""
        return self._limiter.peak(mailbox_id)

    async def _call(self, operation: str, request: Callable[[], Awaitable[T]], mailbox_id: str | None = None) -> T:
        try:
            if mailbox_id is None:
                return await request()
            async with self._limiter.slots(mailbox_id):
                return await request()
        except failures.SDK_TRANSPORT_ERRORS as exc:
            raise failures.from_exception(exc, operation, mailbox=mailbox_id is not None) from exc

    async def _get(self, operation: str, builder: Any, config: Any, mailbox_id: str | None) -> Any:
        return await self._call(operation, lambda: builder.get(request_configuration=config), mailbox_id)

    async def _pages(
        self, operation: str, builder: Any, query: Any, mailbox_id: str | None, prefer: Sequence[str] = ()
    ) -> list[Any]:
        """Every item of a collection, following @odata.nextLink to the end."""
        items: list[Any] = []
        page = await self._get(operation, builder, _config(query, prefer=prefer), mailbox_id)
        while page is not None:
            items.extend(page.value or [])
            if not page.odata_next_link:
                break
            # The next link already carries the query; only the headers are sent again.
            page = await self._get(
                operation, builder.with_url(page.odata_next_link), _config(prefer=prefer), mailbox_id
            )
        return items

    # --- users --------------------------------------------------------------------------------------------

    async def list_mailboxes(self) -> list[Mailbox]:
        """Every user of the tenant (all pages), with the addresses needed to map OpenAir users."""
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder

        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=MAILBOX_FIELDS, top=999)
        users = await self._pages("list users", self._graph.users, query, None)
        return [parse.mailbox(user) for user in users if user.id]

    async def mailbox_time_zone(self, user_id: str) -> str | None:
        """The mailbox's time zone as Exchange reports it (usually a Windows name); None if unset."""
        settings = await self._call(
            f"read mailbox settings of {user_id}",
            lambda: self._graph.users.by_user_id(user_id).mailbox_settings.get(),
            user_id,
        )
        return (settings.time_zone or None) if settings is not None else None

    async def automatic_replies(self, mailbox_id: str) -> AutomaticReplies:
        """The mailbox's automatic replies as they are now (MailboxSettings.Read)."""
        settings = await self._call(
            f"read mailbox settings of {mailbox_id}",
            lambda: self._graph.users.by_user_id(mailbox_id).mailbox_settings.get(),
            mailbox_id,
        )
        return parse.automatic_replies(settings.automatic_replies_setting if settings is not None else None)

    async def set_automatic_replies(self, mailbox_id: str, replies: AutomaticReplies) -> None:
        """Replace the mailbox's automatic replies (needs MailboxSettings.ReadWrite)."""
        from msgraph.generated.models.automatic_replies_setting import AutomaticRepliesSetting
        from msgraph.generated.models.automatic_replies_status import AutomaticRepliesStatus
        from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
        from msgraph.generated.models.mailbox_settings import MailboxSettings

        def when(moment: dt.datetime | None) -> DateTimeTimeZone | None:
            if moment is None:
                return None
            return DateTimeTimeZone(date_time=moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC")

        setting = AutomaticRepliesSetting(
            status=AutomaticRepliesStatus(replies.status),
            scheduled_start_date_time=when(replies.start),
            scheduled_end_date_time=when(replies.end),
            internal_reply_message=replies.internal_message,
            external_reply_message=replies.external_message,
        )
        body = MailboxSettings(automatic_replies_setting=setting)
        await self._call(
            f"set automatic replies of {mailbox_id}",
            lambda: self._graph.users.by_user_id(mailbox_id).mailbox_settings.patch(body),
            mailbox_id,
        )

    async def ensure_category(self, mailbox_id: str, name: str, color: str) -> None:
        """Make sure the mailbox's master category list has `name` (Outlook shows a category's colour only when
        it is in that list). Reads the list once per mailbox and name for the life of this gateway.

        Needs MailboxSettings.ReadWrite to create it; without it Graph answers 403, raised as a GraphError.
        """
        if (mailbox_id, name.casefold()) in self._categories_known:
            return
        from msgraph.generated.models.category_color import CategoryColor
        from msgraph.generated.models.outlook_category import OutlookCategory

        builder = self._graph.users.by_user_id(mailbox_id).outlook.master_categories

        async def listed() -> bool:
            found = await self._pages(f"read the category list of {mailbox_id}", builder, None, mailbox_id)
            return any((c.display_name or "").casefold() == name.casefold() for c in found)

        if not await listed():
            body = OutlookCategory(display_name=name, color=CategoryColor(color))
            try:
                await self._call(f"add category '{name}' to {mailbox_id}", lambda: builder.post(body), mailbox_id)
            except GraphError as exc:
                # Names are unique per mailbox: another worker may have added it since our read.
                if exc.status == 403 or not await listed():
                    raise
        self._categories_known.add((mailbox_id, name.casefold()))

    # --- events -------------------------------------------------------------------------------------------

    async def apply(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        """Create, update and delete events; one result per write, in the order of `writes`.

        Failures come back per item (status, code, message); nothing raises for the whole lot.
        """
        if not writes:
            return []
        return await self._writer.write(mailbox_id, writes)

    async def find_events_by_key(self, mailbox_id: str, openair_key: str) -> list[GraphEvent]:
        """Events stamped with our extended property = `openair_key` (normally zero or one)."""
        from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

        events = self._graph.users.by_user_id(mailbox_id).events
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=(
                f"singleValueExtendedProperties/Any(ep: ep/id eq '{_quoted(OPENAIR_PROPERTY_ID)}' "
                f"and ep/value eq '{_quoted(openair_key)}')"
            ),
            expand=[EXPAND_OPENAIR],
        )
        operation = f"find event {openair_key} in {mailbox_id}"
        found = await self._pages(operation, events, query, mailbox_id, READ_PREFERENCES)
        return [parse.graph_event(event) for event in found]

    async def get_event(self, mailbox_id: str, event_id: str) -> GraphEvent | None:
        """The event with our property expanded; None when the event no longer exists."""
        from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder

        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(expand=[EXPAND_OPENAIR])
        item = self._graph.users.by_user_id(mailbox_id).events.by_event_id(event_id)
        try:
            event = await self._call(
                f"read event in {mailbox_id}",
                lambda: item.get(request_configuration=_config(query, prefer=READ_PREFERENCES)),
                mailbox_id,
            )
        except GraphNotFound as error:
            if is_event_gone(error.status, error.code):
                return None
            raise
        return parse.graph_event(event) if event is not None else None

    async def calendar_view(
        self, mailbox_id: str, start: dt.datetime, end: dt.datetime, page_size: int = CALENDAR_VIEW_PAGE
    ) -> list[GraphEvent]:
        """Every event overlapping [start, end) (occurrences of series included), with our property expanded.

        One pass over `calendarView`, following @odata.nextLink: with the default page, a mailbox with up to
        that many events in the window costs one request.
        """
        from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
            CalendarViewRequestBuilder,
        )

        query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=_utc_text(start), end_date_time=_utc_text(end), expand=[EXPAND_OPENAIR], top=page_size
        )
        builder = self._graph.users.by_user_id(mailbox_id).calendar_view
        found = await self._pages(f"calendarView of {mailbox_id}", builder, query, mailbox_id, READ_PREFERENCES)
        return [parse.graph_event(event) for event in found]

    async def get_events(self, mailbox_id: str, event_ids: Sequence[str]) -> dict[str, GraphEvent | None]:
        """Several events read whole, with our property expanded; None for one that no longer exists.

        Read through `$batch`, 20 per request: a daily series whose occurrences delta sent bare costs one
        request per 20 occurrences, not one each. A failure other than "this event is gone" raises, as
        `get_event` does.
        """
        from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder

        events = self._graph.users.by_user_id(mailbox_id).events
        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(expand=[EXPAND_OPENAIR])
        operation = f"read events in {mailbox_id}"

        def request(event_id: str) -> Any:
            config = _config(query, prefer=READ_PREFERENCES)
            return events.by_event_id(event_id).to_get_request_information(request_configuration=config)

        def answered(event_id: str, answer: InnerResponse) -> GraphEvent | GraphError | None:
            if 200 <= answer.status < 300 and isinstance(answer.body, dict):
                return parse.graph_event_json(answer.body)
            code, message = failures.from_body(answer.body)
            if is_event_gone(answer.status, code):
                return None
            return failures.typed_error(answer.status, code, message, operation)

        unique = list(dict.fromkeys(event_ids))
        kind: BatchedRequest[str, GraphEvent | GraphError | None] = BatchedRequest(
            request, answered, lambda event_id, error: error
        )
        found: dict[str, GraphEvent | None] = {}
        for event_id, result in zip(unique, await self._writer.run(mailbox_id, unique, kind), strict=True):
            if isinstance(result, GraphError):
                raise result
            found[event_id] = result
        return found

    async def delta(
        self,
        mailbox_id: str,
        start: dt.datetime,
        end: dt.datetime,
        delta_link: str | None,
        page_size: int = 100,
    ) -> DeltaResult:
        """One full `calendarView/delta` pass: from `delta_link`, or over [start, end) when there is none.

        Follows @odata.nextLink to the end and returns the events (occurrences included), the ids marked
        @removed and the new delta link. An expired link raises DeltaExpired: start again without one.
        """
        from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder

        builder = self._graph.users.by_user_id(mailbox_id).calendar_view.delta
        prefer = (f"odata.maxpagesize={page_size}", *READ_PREFERENCES)
        if delta_link:
            request, config = builder.with_url(delta_link), _config(prefer=prefer)
        else:
            query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time=_utc_text(start), end_date_time=_utc_text(end)
            )
            request, config = builder, _config(query, prefer=prefer)
        operation = f"calendarView/delta of {mailbox_id}"
        # Delta may replay an item or report it twice; the last word about an id wins.
        live: dict[str, GraphEvent] = {}
        removed: dict[str, None] = {}
        while True:
            page = await self._get(operation, request, config, mailbox_id)
            if page is None:
                raise GraphError(0, "EmptyDeltaPage", "calendarView/delta answered without a body", operation=operation)
            for item in page.value or []:
                gone = parse.removed_id(item)
                if gone is not None:
                    live.pop(gone, None)
                    removed[gone] = None
                else:
                    removed.pop(item.id, None)
                    live[item.id] = parse.graph_event(item)
            if page.odata_next_link:
                request, config = builder.with_url(page.odata_next_link), _config(prefer=prefer)
                continue
            if page.odata_delta_link:
                return DeltaResult(
                    events=tuple(live.values()), removed_ids=tuple(removed), delta_link=page.odata_delta_link
                )
            raise GraphError(0, "NoDeltaLink", "calendarView/delta ended without @odata.deltaLink", operation=operation)

    # --- subscriptions ------------------------------------------------------------------------------------

    async def create_subscription(
        self,
        resource_user_id: str,
        notification_url: str,
        lifecycle_url: str | None,
        client_state: str,
        expiration: dt.datetime,
    ) -> Subscription:
        """Subscribe to created/updated/deleted events of one mailbox (Graph validates the URLs first)."""
        from msgraph.generated.models.subscription import Subscription as SdkSubscription

        body = SdkSubscription(
            change_type=EVENT_CHANGE_TYPES,
            notification_url=notification_url,
            lifecycle_notification_url=lifecycle_url,
            resource=f"users/{resource_user_id}/events",
            expiration_date_time=_aware_utc(expiration),
            client_state=client_state,
        )
        created = await self._call(
            f"subscribe to events of {resource_user_id}", lambda: self._graph.subscriptions.post(body)
        )
        return parse.subscription(created, client_state=client_state)

    async def renew_subscription(self, subscription_id: str, expiration: dt.datetime) -> Subscription:
        from msgraph.generated.models.subscription import Subscription as SdkSubscription

        body = SdkSubscription(expiration_date_time=_aware_utc(expiration))
        renewed = await self._call(
            f"renew subscription {subscription_id}",
            lambda: self._graph.subscriptions.by_subscription_id(subscription_id).patch(body),
        )
        return parse.subscription(renewed)

    async def delete_subscription(self, subscription_id: str) -> bool:
        """True when deleted now, False when Graph no longer had it (already expired or removed)."""
        try:
            await self._call(
                f"delete subscription {subscription_id}",
                lambda: self._graph.subscriptions.by_subscription_id(subscription_id).delete(),
            )
        except GraphNotFound:
            return False
        return True

    async def list_subscriptions(self) -> list[Subscription]:
        """This app's active subscriptions (all pages)."""
        found = await self._pages("list subscriptions", self._graph.subscriptions, None, None)
        return [parse.subscription(sub) for sub in found]

    async def reauthorize_subscription(self, subscription_id: str) -> None:
        """Answer a `reauthorizationRequired` lifecycle event."""
        await self._call(
            f"reauthorize subscription {subscription_id}",
            lambda: self._graph.subscriptions.by_subscription_id(subscription_id).reauthorize.post(),
        )

    # --- mail ---------------------------------------------------------------------------------------------

    async def send_mail(self, sender_user_id: str, to: list[str], subject: str, body_text: str) -> None:
        """Send a plain-text mail from `sender_user_id`'s mailbox (run reports)."""
        from msgraph.generated.models.body_type import BodyType
        from msgraph.generated.models.email_address import EmailAddress
        from msgraph.generated.models.item_body import ItemBody
        from msgraph.generated.models.message import Message
        from msgraph.generated.models.recipient import Recipient
        from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

        if not to:
            raise ValueError("send_mail needs at least one recipient")
        body = SendMailPostRequestBody(
            message=Message(
                subject=subject,
                body=ItemBody(content_type=BodyType.Text, content=body_text),
                to_recipients=[Recipient(email_address=EmailAddress(address=address)) for address in to],
            ),
            save_to_sent_items=True,
        )
        await self._call(
            f"send mail as {sender_user_id}",
            lambda: self._graph.users.by_user_id(sender_user_id).send_mail.post(body),
            sender_user_id,
        )


def _aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("subscription expiration must be a timezone-aware datetime")
    return value.astimezone(dt.UTC)
