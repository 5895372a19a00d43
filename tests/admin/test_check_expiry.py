"""Credential expiry: certificates read from the PEM, secrets from GRAPH_CLIENT_SECRET_EXPIRES; warn 30 days ahead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.admin.check import Outcome, credential_expiry

GRAPH = {"GRAPH_BASE_URL": "https://graph.microsoft.com/v1.0"}


def secrets(**values: str) -> Callable[[str], str | None]:
    return values.get


def pem(days_left: int) -> str:
    """A self-signed certificate plus its key, the way GRAPH_CLIENT_CERTIFICATE holds them (key first)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openair-sync")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=days_left, hours=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return (key_pem + cert.public_bytes(serialization.Encoding.PEM)).decode()


def test_certificate_expiry_from_the_pem() -> None:
    assert credential_expiry(GRAPH, secrets(GRAPH_CLIENT_CERTIFICATE=pem(200))).outcome is Outcome.OK
    soon = credential_expiry(GRAPH, secrets(GRAPH_CLIENT_CERTIFICATE=pem(10)))
    assert soon.outcome is Outcome.WARNING
    assert "certificate expires" in soon.message
    assert "(10 days); renew it now" in soon.message
    gone = credential_expiry(GRAPH, secrets(GRAPH_CLIENT_CERTIFICATE=pem(-3)))
    assert gone.outcome is Outcome.FAILED
    assert "expired on" in gone.message
    assert credential_expiry(GRAPH, secrets(GRAPH_CLIENT_CERTIFICATE="not a pem")).outcome is Outcome.FAILED


def test_secret_expiry_comes_from_a_setting() -> None:
    secret = secrets(GRAPH_CLIENT_SECRET="s3cr3t-value")
    unknown = credential_expiry(GRAPH, secret)
    assert unknown.outcome is Outcome.WARNING
    assert "GRAPH_CLIENT_SECRET_EXPIRES is not set" in unknown.message
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=12)).date().isoformat()
    assert credential_expiry({**GRAPH, "GRAPH_CLIENT_SECRET_EXPIRES": soon}, secret).outcome is Outcome.WARNING
    assert credential_expiry({**GRAPH, "GRAPH_CLIENT_SECRET_EXPIRES": "2099-01-01"}, secret).outcome is Outcome.OK
    bad = credential_expiry({**GRAPH, "GRAPH_CLIENT_SECRET_EXPIRES": "next year"}, secret)
    assert bad.outcome is Outcome.FAILED
    assert "use YYYY-MM-DD" in bad.message


def test_managed_identity_and_nothing_configured() -> None:
    managed = credential_expiry({**GRAPH, "GRAPH_USE_MANAGED_IDENTITY": "true"}, secrets())
    assert managed.outcome is Outcome.OK
    assert credential_expiry(GRAPH, secrets()).outcome is Outcome.FAILED
