"""Building the client: credentials from settings, clear errors, and a light `shared.graph` import."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from shared.errors import ConfigurationError
from shared.graph.client import build_client, build_credential, graph_scope
from shared.secrets import EnvironmentSecrets
from tests.graph.conftest import graph_settings

AZURE = "https://graph.microsoft.com/v1.0"


def self_signed_pem() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openair-sync-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (key_pem + cert.public_bytes(serialization.Encoding.PEM)).decode()


def test_no_credential_names_the_settings() -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_credential(graph_settings(AZURE), EnvironmentSecrets({}))
    for name in (
        "GRAPH_USE_MANAGED_IDENTITY",
        "GRAPH_TENANT_ID",
        "GRAPH_CLIENT_ID",
        "GRAPH_CLIENT_SECRET",
        "GRAPH_CLIENT_CERTIFICATE",
    ):
        assert name in str(caught.value)


def test_ids_without_a_secret_or_certificate_is_a_configuration_error() -> None:
    settings = graph_settings(AZURE, GRAPH_TENANT_ID="t", GRAPH_CLIENT_ID="c")
    with pytest.raises(ConfigurationError, match="neither GRAPH_CLIENT_CERTIFICATE nor GRAPH_CLIENT_SECRET"):
        build_credential(settings, EnvironmentSecrets({}))


async def test_each_credential_kind_is_chosen_from_settings() -> None:
    from azure.identity.aio import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

    ids = {"GRAPH_TENANT_ID": "tenant", "GRAPH_CLIENT_ID": "client"}
    secret = build_credential(graph_settings(AZURE, **ids), EnvironmentSecrets({"GRAPH_CLIENT_SECRET": "s3cret"}))
    both = EnvironmentSecrets({"GRAPH_CLIENT_CERTIFICATE": self_signed_pem(), "GRAPH_CLIENT_SECRET": "s"})
    cert = build_credential(graph_settings(AZURE, **ids), both)
    uami = graph_settings(AZURE, GRAPH_USE_MANAGED_IDENTITY="true", AZURE_CLIENT_ID="uami")
    managed = build_credential(uami, EnvironmentSecrets({}))
    assert isinstance(secret, ClientSecretCredential)
    assert isinstance(cert, CertificateCredential)  # a certificate wins over a secret
    assert isinstance(managed, ManagedIdentityCredential)
    for credential in (secret, cert, managed):
        await credential.close()


async def test_a_microsoft_base_url_gets_a_real_credential_and_the_default_scope() -> None:
    assert graph_scope(AZURE) == "https://graph.microsoft.com/.default"
    assert graph_scope("https://graph.microsoft.us/v1.0") == "https://graph.microsoft.us/.default"
    client = build_client(graph_settings(AZURE, GRAPH_USE_MANAGED_IDENTITY="true"), EnvironmentSecrets({}))
    assert client.credential is not None
    assert client.service.request_adapter.base_url == AZURE
    await client.aclose()


async def test_a_loopback_base_url_needs_no_credential() -> None:
    client = build_client(graph_settings("http://127.0.0.1:1/v1.0"), EnvironmentSecrets({}))
    assert client.credential is None
    assert client.service.request_adapter.base_url == "http://127.0.0.1:1/v1.0"
    await client.aclose()


def test_importing_shared_graph_does_not_import_msgraph() -> None:
    code = "import sys, shared.graph, shared.graph.models; print(sorted(m for m in ('msgraph', 'kiota_http', 'httpx', 'azure.identity') if m in sys.modules))"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
