"""Service URLs: https, or plain http to a loopback host judged by the parsed host name, never by a text prefix."""

from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.settings import GraphSettings, ImportSettings, OpenAirSettings, is_loopback_host, load

# Each passed the old prefix check; each would have sent OpenAir's password (or a function key) in clear text
# to a host that is not this machine.
NOT_LOOPBACK = [
    "http://localhost.evil.example",
    "http://127.0.0.1.nip.io",
    "http://localhost@evil.example",
    "http://127.0.0.1@evil.example",
    "http://127.0.0.1:8080@evil.example/api.pl",
    "http://[::1].evil.example",
    "http://localhostevil.example",
    "http://10.0.0.5",
    "http://example.com",
    "ftp://127.0.0.1",
    "127.0.0.1:8080",
]
LOOPBACK = ["http://127.0.0.1:8080", "http://127.45.6.7", "http://localhost:7071", "http://LOCALHOST", "http://[::1]:9"]
SETTINGS = [(OpenAirSettings, "OPENAIR_BASE_URL"), (GraphSettings, "GRAPH_BASE_URL"),
            (ImportSettings, "WEBHOOK_BASE_URL")]  # fmt: skip


@pytest.mark.parametrize(("section", "name"), SETTINGS)
@pytest.mark.parametrize("url", NOT_LOOPBACK)
def test_plain_http_to_anything_but_loopback_is_refused(section: type, name: str, url: str) -> None:
    refusals = "must be an https|must not carry|is not a valid URL"
    with pytest.raises(ConfigurationError, match=f"{name}: Value error, ({refusals})"):
        load(section, {name: url})


@pytest.mark.parametrize(("section", "name"), SETTINGS)
@pytest.mark.parametrize("url", [*LOOPBACK, "https://acme.app.openair.com", "https://graph.microsoft.com/v1.0"])
def test_https_and_loopback_http_are_accepted(section: type, name: str, url: str) -> None:
    load(section, {name: url})


@pytest.mark.parametrize(("section", "name"), SETTINGS)
def test_credentials_in_the_url_are_refused_even_over_https(section: type, name: str) -> None:
    with pytest.raises(ConfigurationError, match="user:password@"):
        load(section, {name: "https://admin:hunter2@acme.app.openair.com"})


def test_a_malformed_port_is_named() -> None:
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        load(OpenAirSettings, {"OPENAIR_BASE_URL": "http://127.0.0.1:99999"})


def test_graph_takes_the_dev_token_path_only_for_loopback_http() -> None:
    assert load(GraphSettings, {"GRAPH_BASE_URL": "http://127.0.0.1:5000/v1.0"}).is_loopback
    assert not load(GraphSettings, {"GRAPH_BASE_URL": "https://localhost/v1.0"}).is_loopback
    assert not load(GraphSettings, {}).is_loopback


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.255.255.254", "::1"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", [None, "", "localhost.", "127.1", "0.0.0.0", "::ffff:10.0.0.1", "128.0.0.1", "::2"])  # noqa: S104
def test_other_hosts(host: str | None) -> None:
    assert not is_loopback_host(host)
