"""The provider reads what requests takes from the environment once, with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from controlplane.provider.provider import read_environment_once

URL = "http://weir.example:8080"


def settings(session: requests.Session, url: str) -> tuple[object, ...]:
    merged = session.merge_environment_settings(url + "/api/v1/flows", {}, None, None, None)
    prepared = session.prepare_request(requests.Request("GET", url + "/api/v1/flows"))
    return (
        merged["proxies"],
        merged["verify"],
        merged["cert"],
        prepared.headers.get("Authorization"),
    )


@pytest.mark.parametrize("no_proxy", ["", "weir.example"])
def test_proxies_ca_bundle_and_netrc_are_those_of_every_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine weir.example login ada password lovelace\n")
    netrc.chmod(0o600)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("NETRC", str(netrc))

    expected = settings(requests.Session(), URL)
    assert expected[3] is not None  # the netrc entry is used
    assert bool(expected[0]) == (no_proxy == "")

    session = requests.Session()
    read_environment_once(session, URL)
    assert not session.trust_env
    monkeypatch.setenv("HTTP_PROXY", "http://elsewhere.example:3128")  # no longer read
    assert settings(session, URL) == expected


def test_nothing_in_the_environment_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent/netrc")
    session = requests.Session()
    read_environment_once(session, URL)
    assert settings(session, URL) == ({}, True, None, None)
