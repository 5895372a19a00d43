"""`check`: try every dependency for real and say exactly what is wrong.

Permissions are tested by making the calls the product makes, never by reading the app registration (that
would itself need Application.Read.All): listing users (User.Read.All), reading a mapped mailbox's calendar and
settings (Calendars.ReadWrite, MailboxSettings.Read), and a harmless write — deleting an event id that does not
exist, which a permitted app sees answered 404 and a blocked one 403 (Exchange RBAC for Applications included).
Mail.Send is only tried on request (`send_test_mail`), because trying it sends a mail.

Each probe is bounded (PROBE_SECONDS): an unreachable host answers "no answer within 15 s" and what to check,
instead of waiting out the clients' own retry budgets. Storage and Key Vault clients block, so those probes run
in a worker thread that is left behind if it overruns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError

from shared.domain.events import DeleteEvent
from shared.errors import SyncError
from shared.graph.errors import GraphAuthError, GraphError
from shared.secrets import KeyVaultSecrets
from shared.settings import (
    SECRET_SETTINGS,
    AdminSettings,
    GraphSettings,
    OpenAirSettings,
    StorageSettings,
    SyncSettings,
    load,
)
from shared.store.offload import off_loop
from shared.store.store import SyncStore

if TYPE_CHECKING:
    from shared.runtime import Services

EXPIRY_WARNING_DAYS = 30
LOW_DAILY_REQUESTS = 1000
PROBE_SECONDS = 15.0
# The import's webhook routes (Graph's validation handshake is answered on both); WEBHOOK_BASE_URL is their origin.
NOTIFICATION_PATH = "/api/graph/notifications"
LIFECYCLE_PATH = "/api/graph/lifecycle"
ADMIN_PROBE_PATH = "/api/manage/status"
# What to look at when a probe gets no answer in time.
_UNANSWERED = {
    "Table storage": "check AzureWebJobsStorage (or AzureWebJobsStorage__tableServiceUri) and storage's firewall",
    "Sync": "check that Table storage is reachable",
    "Time zones": "check that Table storage is reachable",
    "Queue storage": "check AzureWebJobsStorage (or AzureWebJobsStorage__queueServiceUri)",
    "Key Vault": "check KEY_VAULT_URL and that the app's identity has Key Vault Secrets User on the vault",
    "OpenAir API": "check OPENAIR_BASE_URL and that OpenAir is reachable from the app",
    "Graph: list users": "check GRAPH_BASE_URL and that login.microsoftonline.com and Graph are reachable",
    "Graph: mailbox calendar": "check GRAPH_BASE_URL and that Graph is reachable",
    "Graph: access scope": "check GRAPH_BASE_URL and that Graph is reachable",
    "Graph: Mail.Send (reports)": "check that Graph is reachable",
    "Webhook URL": "check WEBHOOK_BASE_URL: it must be this app's public address",
}
_PROBE_EVENT_ID = "AAMkAGOpenAirSyncCheckProbe="  # never an existing event


class Outcome(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: Outcome
    message: str


def _graph_advice(exc: GraphError, permission: str) -> str:
    if exc.status == 401:
        return f"{exc}. The token was refused: check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and the secret or certificate"
    if isinstance(exc, GraphAuthError) or exc.status == 403:
        return (
            f"{exc}. Grant the application permission {permission} with admin consent; for mailboxes, check that "
            "the Exchange RBAC for Applications scope includes this mailbox"
        )
    return str(exc)


def credential_expiry(environ: Mapping[str, str], secret_value: Callable[[str], str | None]) -> CheckResult:
    """Certificate expiry read from the PEM; secret expiry from GRAPH_CLIENT_SECRET_EXPIRES (it cannot be read
    with the app's own permissions). Warns 30 days ahead."""
    name = "Graph credential expiry"
    graph = load(GraphSettings, environ)
    now = dt.datetime.now(dt.UTC)
    if graph.is_loopback:
        return CheckResult(name, Outcome.SKIPPED, "GRAPH_BASE_URL is a local simulator; no credential")
    pem = secret_value("GRAPH_CLIENT_CERTIFICATE")
    if pem:
        from cryptography import x509

        try:
            certificates = x509.load_pem_x509_certificates(pem.encode())
        except ValueError:
            return CheckResult(name, Outcome.FAILED, "GRAPH_CLIENT_CERTIFICATE holds no PEM certificate")
        expires = min(c.not_valid_after_utc for c in certificates)
        what = "certificate"
    elif graph.use_managed_identity:
        return CheckResult(name, Outcome.OK, "managed identity: no secret or certificate to expire")
    elif secret_value("GRAPH_CLIENT_SECRET"):
        text = load(AdminSettings, environ).graph_client_secret_expires.strip()
        if not text:
            return CheckResult(
                name,
                Outcome.WARNING,
                "a client secret is used but GRAPH_CLIENT_SECRET_EXPIRES is not set; set it to the secret's expiry "
                "date (YYYY-MM-DD, shown in Entra under Certificates & secrets) so it is watched",
            )
        try:
            expires = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0), dt.UTC)
        except ValueError:
            return CheckResult(name, Outcome.FAILED, f"GRAPH_CLIENT_SECRET_EXPIRES is '{text}'; use YYYY-MM-DD")
        what = "client secret"
    else:
        return CheckResult(name, Outcome.FAILED, "no GRAPH_CLIENT_CERTIFICATE, GRAPH_CLIENT_SECRET or managed identity")
    days = (expires - now).days
    when = f"{what} expires {expires:%Y-%m-%d} ({days} days)"
    if expires <= now:
        return CheckResult(name, Outcome.FAILED, f"{what} expired on {expires:%Y-%m-%d}; create a new one in Entra")
    if days < EXPIRY_WARNING_DAYS:
        return CheckResult(name, Outcome.WARNING, f"{when}; renew it now")
    return CheckResult(name, Outcome.OK, when)


def zone_check(store: SyncStore) -> CheckResult:
    """Which zone each mapped user's events are rendered in, by source; users left on a fixed offset (no
    daylight saving, so summer times an hour off) are a warning naming them."""
    from shared.sync.zones import choose_zone

    settings, _ = store.load_settings()
    choices = {u: choose_zone(m, settings) for u, m in store.load_mappings().users.items() if m.mailbox}
    by_source = Counter(c.source.value for c in choices.values())
    text = f"{len(choices)} mapped user(s): " + (", ".join(f"{n} from {s}" for s, n in sorted(by_source.items()))
                                                 or "none")  # fmt: skip
    fixed = sorted((u, c) for u, c in choices.items() if c.fixed_offset)
    if not fixed:
        return CheckResult("Time zones", Outcome.OK, text + "; every one knows daylight saving")
    names = "; ".join(f"{u}: {c.zone} ({c.reason})" for u, c in fixed[:10])
    more = f" … and {len(fixed) - 10} more" if len(fixed) > 10 else ""
    return CheckResult("Time zones", Outcome.WARNING, f"{text}; {len(fixed)} on a fixed offset without daylight "
                       f"saving (summer times an hour off): {names}{more}")  # fmt: skip


async def run_checks(
    services: Services,
    *,
    send_test_mail: bool = False,
    probe_webhook: Callable[[str], Awaitable[tuple[int, str]]] | None = None,
) -> list[CheckResult]:
    """Every check, in dependency order; one failing never stops the others."""
    env = services.environ
    results: list[CheckResult] = []

    async def attempt(name: str, body: Callable[[], Awaitable[CheckResult]]) -> CheckResult:
        try:
            result = await asyncio.wait_for(body(), PROBE_SECONDS)
        except TimeoutError:
            fix = _UNANSWERED.get(name, "check that the service is reachable from the app")
            result = CheckResult(name, Outcome.FAILED, f"no answer within {PROBE_SECONDS:.0f} s; {fix}")
        except (SyncError, ValueError, OSError, AzureError) as exc:
            result = CheckResult(name, Outcome.FAILED, str(exc) or type(exc).__name__)
        results.append(result)
        return result

    async def settings() -> CheckResult:
        for section in (GraphSettings, StorageSettings, SyncSettings):
            load(section, env)
        load(OpenAirSettings, env)
        return CheckResult("App settings", Outcome.OK, "every app setting parses")

    def tables_now() -> CheckResult:
        store = services.store()
        store.ensure_tables()
        runs = store.recent_runs(1)
        mappings = store.load_mappings()
        _, setting_problems = store.load_settings()
        _, show_as_problems = store.load_show_as()
        bad = len(mappings.problems) + len(setting_problems) + len(show_as_problems)
        text = f"reachable; {len(mappings.users)} users mapped; last run {runs[0].started:%Y-%m-%d %H:%M} UTC" if runs \
            else f"reachable; {len(mappings.users)} users mapped; no run recorded yet"  # fmt: skip
        if bad:
            return CheckResult("Table storage", Outcome.WARNING, f"{text}; {bad} row(s) rejected (see `status`)")
        return CheckResult("Table storage", Outcome.OK, text)

    def pause_now() -> CheckResult:
        pause = services.store().pause_state()
        if pause is None:
            return CheckResult("Sync", Outcome.OK, "running (IntegrationSettings Paused is not set)")
        since = f" since {pause.since:%Y-%m-%d %H:%M} UTC" if pause.since else ""
        why = f" ({pause.reason})" if pause.reason else ""
        return CheckResult("Sync", Outcome.WARNING, f"PAUSED{since} by {pause.by}{why}: nothing is written until "
                           "`resume` (POST /api/manage/resume)")  # fmt: skip

    def time_zones_now() -> CheckResult:
        return zone_check(services.store())

    def queues_now() -> CheckResult:
        from shared.admin.queues import QueueInspector

        inspector = QueueInspector(load(StorageSettings, env))
        try:
            from shared.jobs.contracts import EXPORT_QUEUE as queue

            count = inspector.message_count(queue)
        finally:
            inspector.close()
        waiting = "not created yet (created by the first run)" if count is None else f"{count} message(s) waiting"
        return CheckResult("Queue storage", Outcome.OK, f"reachable; {queue}: {waiting}")

    def key_vault_now() -> CheckResult:
        vault = env.get("KEY_VAULT_URL", "").strip()
        found, broken = [], []
        for name in SECRET_SETTINGS:  # every secret resolves, or the message names the one that does not
            try:
                if services.secrets.get(name):
                    found.append(name)
            except SyncError as exc:
                broken.append(f"{name}: {exc}")
        if broken:
            return CheckResult("Key Vault", Outcome.FAILED, "; ".join(broken))
        configured = f"configured secrets: {', '.join(found) or 'none'}"
        if not vault or not isinstance(services.secrets, KeyVaultSecrets):
            return CheckResult("Key Vault", Outcome.SKIPPED, f"KEY_VAULT_URL not set; secrets come from app "
                               f"settings ({configured})")  # fmt: skip
        return CheckResult("Key Vault", Outcome.OK, f"{vault} readable; {configured}")

    def in_thread(probe: Callable[[], CheckResult]) -> Callable[[], Awaitable[CheckResult]]:
        return lambda: off_loop(probe)

    tables, pause_switch = in_thread(tables_now), in_thread(pause_now)
    queues, key_vault = in_thread(queues_now), in_thread(key_vault_now)
    time_zones = in_thread(time_zones_now)

    async def openair() -> CheckResult:
        user = await services.openair_client().whoami()
        return CheckResult("OpenAir API", Outcome.OK, f"signed in as {user.name or '?'} (OpenAir user {user.id})")

    async def openair_limits() -> CheckResult:
        left = await services.openair_client().requests_left_today()
        if left is None:
            return CheckResult("OpenAir API limits", Outcome.OK, "OpenAir reports no daily request limit")
        text = f"{left} request(s) left in the current 24-hour window"
        if left < LOW_DAILY_REQUESTS:  # a run every 2 minutes needs at least 720 a day
            return CheckResult("OpenAir API limits", Outcome.WARNING, f"{text}; runs will get 556 (frequency limit) "
                               "when none are left: raise the account's limits or sync less often")  # fmt: skip
        return CheckResult("OpenAir API limits", Outcome.OK, text)

    async def openair_zone() -> CheckResult:
        from shared.openair.clock import utc_offset_text, zone_mismatch

        client = services.openair_client()
        now = dt.datetime.now(dt.UTC)
        problem = zone_mismatch(client.zone, await client.server_time(), now)
        if problem:
            return CheckResult("OpenAir time zone", Outcome.FAILED, problem)
        offset = utc_offset_text(now.astimezone(client.zone).utcoffset() or dt.timedelta())
        return CheckResult(
            "OpenAir time zone",
            Outcome.OK,
            f"OPENAIR_COMPANY_TIMEZONE {client.zone.key} ({offset} now) agrees with OpenAir's clock",
        )

    async def show_as_ids() -> CheckResult:
        name = "Booking types (BookingTypeShowAs)"
        store = services.store()
        (_, problems), keys = await off_loop(
            lambda: (store.load_show_as(), {row.row_key for row in store.table_rows("BookingTypeShowAs")})
        )
        if not keys:
            return CheckResult(name, Outcome.SKIPPED, "no BookingTypeShowAs rows; Show As comes from OpenAir")
        types = await services.openair().read_booking_types()
        by_name = {(t.name or "").strip().lower(): t.id for t in types}
        ids = {t.id for t in types}
        said = []
        for key in sorted(keys):
            if key.strip().isdigit():
                if key.strip() not in ids:
                    said.append(f"row '{key}': OpenAir has no booking type {key.strip()}")
            elif key.strip().lower() in by_name:
                said.append(f"row '{key}' is keyed by name: booking type '{key.strip()}' has id "
                            f"{by_name[key.strip().lower()]}; use that as the RowKey")  # fmt: skip
            else:
                said.append(f"row '{key}': no booking type has this id or name")
        if said:
            return CheckResult(name, Outcome.WARNING, "; ".join(said))
        rejected = f"; {len(problems)} row(s) rejected (see `status`)" if problems else ""
        return CheckResult(name, Outcome.OK, f"{len(keys)} row(s), every RowKey is an OpenAir booking type{rejected}")

    mailbox: list[str] = []

    async def graph_users() -> CheckResult:
        try:
            found = await services.calendar().list_mailboxes()
        except GraphError as exc:
            return CheckResult("Graph: list users", Outcome.FAILED, _graph_advice(exc, "User.Read.All"))
        mappings = await off_loop(services.store().load_mappings)
        mapped = [m.mailbox_id for m in mappings.users.values() if m.mailbox_id]
        mailbox.extend(mapped[:1] or [m.id for m in found[:1]])
        return CheckResult("Graph: list users", Outcome.OK, f"token accepted; User.Read.All works ({len(found)} users)")

    async def graph_calendar() -> CheckResult:
        name = "Graph: mailbox calendar"
        if not mailbox:
            return CheckResult(name, Outcome.SKIPPED, "no mailbox to try (no user listed or mapped)")
        calendar = services.calendar()
        try:
            await calendar.find_events_by_key(mailbox[0], "openair:check:0")
            zone = await calendar.mailbox_time_zone(mailbox[0])
        except GraphError as exc:
            return CheckResult(name, Outcome.FAILED, _graph_advice(exc, "Calendars.ReadWrite and MailboxSettings.Read"))
        (probe,) = await calendar.apply(mailbox[0], [DeleteEvent(event_id=_PROBE_EVENT_ID)])
        if probe.status in (401, 403):
            return CheckResult(name, Outcome.FAILED, f"mailbox {mailbox[0]}: writing is refused ({probe.status} "
                               f"{probe.error_code}); grant Calendars.ReadWrite, not Calendars.Read")  # fmt: skip
        return CheckResult(
            name, Outcome.OK, f"mailbox {mailbox[0]}: calendar readable and writable, time zone {zone or 'not set'}"
        )

    async def mail() -> CheckResult:
        store_settings, _ = await off_loop(services.store().load_settings)
        name = "Graph: Mail.Send (reports)"
        if store_settings.report_when == "Never":
            return CheckResult(name, Outcome.SKIPPED, "ReportWhen is Never; Mail.Send is not needed")
        if not store_settings.report_sender or not store_settings.report_recipients:
            return CheckResult(name, Outcome.FAILED, "ReportWhen is set but ReportSender or ReportRecipients is empty")
        if not send_test_mail:
            return CheckResult(name, Outcome.WARNING, "not tried (it sends a mail); run `check --send-test-mail`")
        from shared.admin.reports import send_test_report

        try:
            await send_test_report(services.store(), services.calendar())
        except GraphError as exc:
            return CheckResult(name, Outcome.FAILED, _graph_advice(exc, "Mail.Send"))
        return CheckResult(name, Outcome.OK, f"test report sent from {store_settings.report_sender}")

    async def webhook() -> CheckResult:
        """The URLs subscriptions carry (with WEBHOOK_FUNCTION_KEY): both answer the handshake, the admin API not."""
        name = "Webhook URL"
        base = env.get("WEBHOOK_BASE_URL", "").strip().rstrip("/")  # ImportSettings validates it for the import
        if not base:
            return CheckResult(name, Outcome.SKIPPED, "WEBHOOK_BASE_URL not set (needed only for import)")
        key = services.secrets.get("WEBHOOK_FUNCTION_KEY")
        urls = {path: f"{base}{path}" for path in (NOTIFICATION_PATH, LIFECYCLE_PATH)}
        try:  # the exact URLs subscriptions use (with their ?code= key), from the import's own code
            from shared.jobs.importing import endpoints as import_endpoints

            made = import_endpoints(services)
            urls = {NOTIFICATION_PATH: made.notification_url, LIFECYCLE_PATH: made.lifecycle_url}
        except (ImportError, SyncError):
            pass
        post = probe_webhook or _post
        for path, url in urls.items():
            token = "check-" + secrets.token_hex(8)
            status, body = await post(url + ("&" if "?" in url else "?") + f"validationToken={token}")
            if status in (401, 403):
                return CheckResult(name, Outcome.FAILED, f"{base}{path} answered {status}: set WEBHOOK_FUNCTION_KEY "
                                   "(Key Vault webhook-function-key) to the key of both Graph routes, the "
                                   "graph-webhook host key `azd provision` creates")  # fmt: skip
            if status != 200 or body != token:
                return CheckResult(name, Outcome.FAILED, f"{base}{path} answered {status} instead of echoing the "
                                   "validationToken; Graph will refuse to create subscriptions")  # fmt: skip
        if key:
            status, _ = await _get(f"{base}{ADMIN_PROBE_PATH}?code={urllib.parse.quote(key, safe='')}")
            if status not in (401, 403):
                return CheckResult(name, Outcome.FAILED, f"the subscriptions' key opened {ADMIN_PROBE_PATH} "
                                   f"({status}): it must open the Graph routes only (shared/access.py)")  # fmt: skip
        return CheckResult(name, Outcome.OK, f"{base}{NOTIFICATION_PATH} and {LIFECYCLE_PATH} answer Graph's "
                           "handshake with the subscriptions' key, which does not open the admin API")  # fmt: skip

    async def access_scope() -> CheckResult:
        """Whether Exchange access looks scoped: a mailbox outside the sync group must be refused."""
        name = "Graph: access scope"
        outside = load(AdminSettings, env).check_unscoped_mailbox.strip()
        mappings = await off_loop(services.store().load_mappings)
        mapped = {m.mailbox_id.lower() for m in mappings.users.values() if m.mailbox_id}
        if not outside:
            listed = await services.calendar().list_mailboxes()
            outside = next((m.id for m in listed if m.id.lower() not in mapped), "")
            if not outside:
                return CheckResult(name, Outcome.SKIPPED, "every listed mailbox is mapped; set CHECK_UNSCOPED_MAILBOX "
                                   "to a mailbox outside the sync group to test the scope")  # fmt: skip
        try:
            await services.calendar().find_events_by_key(outside, "openair:check:0")
        except GraphError as exc:
            if exc.status == 403:
                return CheckResult(name, Outcome.OK, f"scoped: mailbox {outside} (not synced) is refused")
            return CheckResult(name, Outcome.WARNING, f"mailbox {outside}: {exc}; cannot tell whether access is scoped")
        return CheckResult(name, Outcome.WARNING, f"not scoped: mailbox {outside}, which is not synced, is readable. "
                           "Remove the Entra consent for Calendars.ReadWrite, MailboxSettings.Read and Mail.Send and "
                           "grant them with Exchange RBAC for Applications scoped to the sync group (README, Deploy "
                           "to Azure, step 1); if that mailbox is in the group, set CHECK_UNSCOPED_MAILBOX to one "
                           "that is not")  # fmt: skip

    async def expiry() -> CheckResult:
        return credential_expiry(env, services.secrets.get)

    await attempt("App settings", settings)
    if (await attempt("Table storage", tables)).outcome is not Outcome.FAILED:
        await attempt("Sync", pause_switch)
        await attempt("Time zones", time_zones)
    await attempt("Queue storage", queues)
    await attempt("Key Vault", key_vault)
    if (await attempt("OpenAir API", openair)).outcome is Outcome.OK:
        await attempt("OpenAir time zone", openair_zone)
        await attempt("Booking types (BookingTypeShowAs)", show_as_ids)
        await attempt("OpenAir API limits", openair_limits)
    await attempt("Graph credential expiry", expiry)
    users = await attempt("Graph: list users", graph_users)
    if users.outcome is Outcome.OK:
        await attempt("Graph: mailbox calendar", graph_calendar)
        await attempt("Graph: access scope", access_scope)
    else:
        results.append(CheckResult("Graph: mailbox calendar", Outcome.SKIPPED, "needs a working Graph sign-in"))
    await attempt("Graph: Mail.Send (reports)", mail)
    await attempt("Webhook URL", webhook)
    return results


async def _post(url: str) -> tuple[int, str]:
    return await _request("POST", url)


async def _get(url: str) -> tuple[int, str]:
    return await _request("GET", url)


async def _request(method: str, url: str) -> tuple[int, str]:
    import httpx

    async with httpx.AsyncClient(timeout=10.0) as client:
        try:
            answer = await client.request(method, url, headers={"Content-Type": "text/plain"})
        except httpx.HTTPError as exc:
            return 0, type(exc).__name__
    return answer.status_code, answer.text


def failed(results: list[CheckResult]) -> bool:
    return any(r.outcome is Outcome.FAILED for r in results)
