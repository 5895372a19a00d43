"""`check`: try every dependency for real and say exactly what is wrong.

Permissions are tested by making the calls the product makes, never by reading the app registration (that
would itself need Application.Read.All): listing users (User.Read.All), reading a mapped mailbox's calendar and
settings (Calendars.ReadWrite, MailboxSettings.Read), and a harmless write — deleting an event id that does not
exist, which a permitted app sees answered 404 and a blocked one 403 (Exchange RBAC for Applications included).
Mail.Send is only tried on request (`send_test_mail`), because trying it sends a mail.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError

from shared.errors import SyncError
from shared.graph.errors import GraphAuthError, GraphError
from shared.graph.models import DeleteEvent
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
from shared.store.store import SyncStore

if TYPE_CHECKING:
    from shared.runtime import Services

EXPIRY_WARNING_DAYS = 30
# The import's webhook route (Graph's validation handshake is answered there); WEBHOOK_BASE_URL is its origin.
NOTIFICATION_PATH = "/api/graph/notifications"
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
            result = await body()
        except (SyncError, ValueError, OSError, AzureError) as exc:
            result = CheckResult(name, Outcome.FAILED, str(exc) or type(exc).__name__)
        results.append(result)
        return result

    async def settings() -> CheckResult:
        for section in (GraphSettings, StorageSettings, SyncSettings):
            load(section, env)
        load(OpenAirSettings, env)
        return CheckResult("App settings", Outcome.OK, "every app setting parses")

    async def tables() -> CheckResult:
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

    async def pause_switch() -> CheckResult:
        pause = services.store().pause_state()
        if pause is None:
            return CheckResult("Sync", Outcome.OK, "running (IntegrationSettings Paused is not set)")
        since = f" since {pause.since:%Y-%m-%d %H:%M} UTC" if pause.since else ""
        why = f" ({pause.reason})" if pause.reason else ""
        return CheckResult("Sync", Outcome.WARNING, f"PAUSED{since} by {pause.by}{why}: nothing is written until "
                           "`resume` (POST /api/manage/resume)")  # fmt: skip

    async def time_zones() -> CheckResult:
        return zone_check(services.store())

    async def queues() -> CheckResult:
        from shared.admin.queues import QueueInspector

        inspector = QueueInspector(load(StorageSettings, env))
        try:
            from shared.jobs import EXPORT_QUEUE as queue

            count = inspector.message_count(queue)
        finally:
            inspector.close()
        waiting = "not created yet (created by the first run)" if count is None else f"{count} message(s) waiting"
        return CheckResult("Queue storage", Outcome.OK, f"reachable; {queue}: {waiting}")

    async def key_vault() -> CheckResult:
        vault = env.get("KEY_VAULT_URL", "").strip()
        if not vault or not isinstance(services.secrets, KeyVaultSecrets):
            return CheckResult("Key Vault", Outcome.SKIPPED, "KEY_VAULT_URL not set; secrets come from app settings")
        found = [name for name in SECRET_SETTINGS if services.secrets.get(name)]
        return CheckResult(
            "Key Vault", Outcome.OK, f"{vault} readable; configured secrets: {', '.join(found) or 'none'}"
        )

    async def openair() -> CheckResult:
        user = await services.openair_client().whoami()
        return CheckResult("OpenAir API", Outcome.OK, f"signed in as {user.name or '?'} (OpenAir user {user.id})")

    mailbox: list[str] = []

    async def graph_users() -> CheckResult:
        try:
            found = await services.calendar().list_mailboxes()
        except GraphError as exc:
            return CheckResult("Graph: list users", Outcome.FAILED, _graph_advice(exc, "User.Read.All"))
        mapped = [m.mailbox_id for m in services.store().load_mappings().users.values() if m.mailbox_id]
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
        store_settings, _ = services.store().load_settings()
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
        name = "Webhook URL"
        base = env.get("WEBHOOK_BASE_URL", "").strip().rstrip("/")  # ImportSettings validates it for the import
        if not base:
            return CheckResult(name, Outcome.SKIPPED, "WEBHOOK_BASE_URL not set (needed only for import)")
        token = "check-" + secrets.token_hex(8)
        url = f"{base}{NOTIFICATION_PATH}"
        try:  # the exact URL subscriptions use (with its ?code= key), from the import's own code
            from shared.notifications.jobs import endpoints as import_endpoints

            url = import_endpoints(services).notification_url
        except (ImportError, SyncError):
            pass
        url += ("&" if "?" in url else "?") + f"validationToken={token}"
        status, body = await (probe_webhook or _post)(url)
        if status == 200 and body == token:
            return CheckResult(name, Outcome.OK, f"{base}{NOTIFICATION_PATH} answers Graph's validation handshake")
        if status in (401, 403):
            return CheckResult(name, Outcome.FAILED, f"{base}{NOTIFICATION_PATH} answered {status}: set "
                               "WEBHOOK_FUNCTION_KEY to the function key subscriptions carry as ?code=")  # fmt: skip
        return CheckResult(name, Outcome.FAILED, f"{base}{NOTIFICATION_PATH} answered {status} instead of echoing the "
                           "validationToken; Graph will refuse to create subscriptions")  # fmt: skip

    async def expiry() -> CheckResult:
        return credential_expiry(env, services.secrets.get)

    await attempt("App settings", settings)
    if (await attempt("Table storage", tables)).outcome is not Outcome.FAILED:
        await attempt("Sync", pause_switch)
        await attempt("Time zones", time_zones)
    await attempt("Queue storage", queues)
    await attempt("Key Vault", key_vault)
    await attempt("OpenAir API", openair)
    await attempt("Graph credential expiry", expiry)
    users = await attempt("Graph: list users", graph_users)
    if users.outcome is Outcome.OK:
        await attempt("Graph: mailbox calendar", graph_calendar)
    else:
        results.append(CheckResult("Graph: mailbox calendar", Outcome.SKIPPED, "needs a working Graph sign-in"))
    await attempt("Graph: Mail.Send (reports)", mail)
    await attempt("Webhook URL", webhook)
    return results


async def _post(url: str) -> tuple[int, str]:
    import httpx

    async with httpx.AsyncClient(timeout=10.0) as client:
        try:
            answer = await client.post(url, headers={"Content-Type": "text/plain"})
        except httpx.HTTPError as exc:
            return 0, type(exc).__name__
    return answer.status_code, answer.text


def failed(results: list[CheckResult]) -> bool:
    return any(r.outcome is Outcome.FAILED for r in results)
