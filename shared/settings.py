"""Typed settings, built once from the environment (app settings in Azure, local.settings.json locally).

Every field's alias is the app setting's name; `setting_names()` lists them so the Bicep template can be
checked against the code. Secrets are not fields here: they are read through `shared.secrets` by name, and
`SECRET_SETTINGS` lists those names.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import ConfigurationError

# Read through the secret provider (Key Vault or environment), never logged, never defaulted.
SECRET_SETTINGS: tuple[str, ...] = (
    "OPENAIR_PASSWORD",
    "OPENAIR_ACCESS_TOKEN",
    "OPENAIR_API_KEY",
    "GRAPH_CLIENT_SECRET",
    "GRAPH_CLIENT_CERTIFICATE",
    "WEBHOOK_CLIENT_STATE",
    "OPENAIR_PUSH_SECRET",
    # Function keys handed to Graph (subscription URLs) and to OpenAir's form script; shared/access.py.
    "WEBHOOK_FUNCTION_KEY",
    "OPENAIR_PUSH_KEY",
)


def is_loopback_host(host: str | None) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 only: the host name as parsed, never a prefix of the URL text
    (`http://localhost.evil.example`, `http://127.0.0.1.nip.io` and `http://localhost@evil.example` are not)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_url(value: str, *, plain_http: str = "plain http only for a loopback simulator") -> str:
    """`value` if it is an https URL, or plain http to a loopback host; ValueError naming the fix otherwise.

    Passwords, tokens and function keys travel to these URLs, so the host is parsed, not matched as text.
    """
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry user:password@ before the host (credentials belong in secrets)")
    host = parts.hostname or ""
    bracketed = f"[{host}]" if ":" in host else host
    if parts.netloc.lower() not in (bracketed, f"{bracketed}:{port}"):  # `[::1].evil.example` parses as ::1
        raise ValueError(f"is not a valid URL (cannot tell its host from {parts.netloc!r})")
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return value
    raise ValueError(f"must be an https:// URL ({plain_http}: localhost, 127.0.0.0/8 or [::1])")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


SectionT = TypeVar("SectionT", bound=_Section)


class OpenAirSettings(_Section):
    base_url: str = Field(alias="OPENAIR_BASE_URL", description="e.g. https://<company-id>.app.openair.com")
    company: str = Field(default="", alias="OPENAIR_COMPANY", description="Company id (password login)")
    user: str = Field(default="", alias="OPENAIR_USER", description="API user (password login)")
    namespace: str = Field(default="default", alias="OPENAIR_NAMESPACE")
    client_name: str = Field(default="openair-m365-sync", alias="OPENAIR_CLIENT_NAME")
    timeout_seconds: float = Field(default=60.0, alias="OPENAIR_TIMEOUT_SECONDS", gt=0)
    retry_budget_seconds: float = Field(default=120.0, alias="OPENAIR_RETRY_BUDGET_SECONDS", ge=0)
    company_timezone: str = Field(
        default="UTC",
        alias="OPENAIR_COMPANY_TIMEZONE",
        description="Zone OpenAir reports created/updated in (IANA name); used for watermarks",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return service_url(value.strip().rstrip("/")).removesuffix("/api.pl")


class GraphSettings(_Section):
    tenant_id: str = Field(default="", alias="GRAPH_TENANT_ID")
    client_id: str = Field(default="", alias="GRAPH_CLIENT_ID")
    base_url: str = Field(default="https://graph.microsoft.com/v1.0", alias="GRAPH_BASE_URL")
    use_managed_identity: bool = Field(default=False, alias="GRAPH_USE_MANAGED_IDENTITY")
    max_in_flight_per_mailbox: int = Field(default=4, alias="GRAPH_MAX_IN_FLIGHT_PER_MAILBOX", ge=1, le=4)
    retry_budget_seconds: float = Field(default=120.0, alias="GRAPH_RETRY_BUDGET_SECONDS", ge=0)
    timeout_seconds: float = Field(default=60.0, alias="GRAPH_TIMEOUT_SECONDS", gt=0)
    managed_identity_client_id: str = Field(
        default="",
        alias="AZURE_CLIENT_ID",
        description="Client id of a user-assigned managed identity; empty = the system-assigned identity",
    )
    dev_token: str = Field(
        default="dev-token",
        alias="GRAPH_DEV_TOKEN",
        description="Bearer token sent to a loopback Graph simulator; never used for https Graph",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return service_url(value.strip().rstrip("/"))

    @property
    def is_loopback(self) -> bool:
        """True when GRAPH_BASE_URL points at a local simulator (which takes a fixed dev token)."""
        parts = urlsplit(self.base_url)
        return parts.scheme == "http" and is_loopback_host(parts.hostname)


class StorageSettings(_Section):
    """Table and Queue storage: a connection string locally (Azurite), the managed identity in Azure."""

    connection_string: str = Field(
        default="", alias="AzureWebJobsStorage", description="Connection string (local/Azurite); empty in Azure"
    )
    table_service_uri: str = Field(
        default="", alias="AzureWebJobsStorage__tableServiceUri", description="Table endpoint (identity-based)"
    )
    queue_service_uri: str = Field(
        default="", alias="AzureWebJobsStorage__queueServiceUri", description="Queue endpoint (identity-based)"
    )


class SyncSettings(_Section):
    """How the function app schedules and fans out work (the integration's behaviour lives in the
    IntegrationSettings table, where administrators can change it without a redeploy)."""

    export_schedule: str = Field(
        default="0 */2 * * * *", alias="EXPORT_SCHEDULE", description="NCRONTAB (UTC) of the export timer"
    )
    max_dequeue_count: int = Field(
        default=5, alias="QUEUE_MAX_DEQUEUE_COUNT", ge=1, description="Must match host.json queues.maxDequeueCount"
    )


class PushSettings(_Section):
    """The OpenAir form script's push (`POST /api/openair/changed`); its shared secret is OPENAIR_PUSH_SECRET."""

    max_age_seconds: int = Field(
        default=300,
        alias="OPENAIR_PUSH_MAX_AGE_SECONDS",
        ge=10,
        le=3600,
        description="A push whose timestamp is further than this from now (either way) is refused (replay)",
    )


class ImportSettings(_Section):
    """Outlook → OpenAir: where Graph posts notifications, and how subscriptions and reconciliation run."""

    webhook_base_url: str = Field(
        default="",
        alias="WEBHOOK_BASE_URL",
        description="Public root of the function app (https://<app>.azurewebsites.net); subscriptions point here",
    )
    subscription_schedule: str = Field(
        default="0 7 * * * *", alias="IMPORT_SUBSCRIPTION_SCHEDULE", description="NCRONTAB of the subscription timer"
    )
    reconcile_schedule: str = Field(
        default="0 */15 * * * *", alias="IMPORT_RECONCILE_SCHEDULE", description="NCRONTAB of the reconciliation"
    )
    subscription_minutes: int = Field(
        default=10_070,
        alias="SUBSCRIPTION_LIFETIME_MINUTES",
        ge=60,
        le=10_080,
        description="Lifetime asked for on create/renew (Outlook events: at most 10,080)",
    )
    renew_margin_minutes: int = Field(
        default=2_880,
        alias="SUBSCRIPTION_RENEW_MARGIN_MINUTES",
        ge=60,
        description="Renew a subscription this long before it expires",
    )
    max_body_bytes: int = Field(
        default=1_000_000, alias="WEBHOOK_MAX_BODY_BYTES", ge=1_024, description="Larger notification POSTs get 413"
    )

    @field_validator("webhook_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        return service_url(value, plain_http="Graph posts to https only; plain http only on loopback") if value else ""


class AdminSettings(_Section):
    """Operations: credential expiry watch and telemetry (read by `check`, the CLI and shared/logging_setup.py)."""

    graph_client_secret_expires: str = Field(
        default="",
        alias="GRAPH_CLIENT_SECRET_EXPIRES",
        description="Expiry date (YYYY-MM-DD) of GRAPH_CLIENT_SECRET; `check` warns 30 days ahead",
    )
    check_unscoped_mailbox: str = Field(
        default="",
        alias="CHECK_UNSCOPED_MAILBOX",
        description="A mailbox outside the sync group; `check` expects Graph to refuse it (access scoped)",
    )
    app_insights_connection_string: str = Field(
        default="",
        alias="APPLICATIONINSIGHTS_CONNECTION_STRING",
        description="Application Insights connection string; logs are exported when set",
    )


def load(section: type[SectionT], environ: Mapping[str, str] | None = None) -> SectionT:
    """Build one settings section from the environment; a bad value raises one clear ConfigurationError."""
    env = os.environ if environ is None else environ
    names = {f.alias for f in section.model_fields.values() if f.alias}
    values = {k: v for k, v in env.items() if k in names}
    try:
        return section.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"Invalid settings: {problems}") from None


def setting_names() -> dict[str, str]:
    """Every app setting the code reads, with its description (secrets included)."""
    out: dict[str, str] = {}
    for section in _Section.__subclasses__():
        for field in section.model_fields.values():
            if field.alias:
                out[field.alias] = field.description or ""
    for name in SECRET_SETTINGS:
        out[name] = "secret (Key Vault or environment)"
    return out
