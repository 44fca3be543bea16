"""The plugin's TLS certificate: made once, kept privately for a few hours, shared by the starts."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest
from cryptography import x509

from controlplane.provider.runtime.certificate import KEPT_FOR, certificate, der, kept_folder


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path / "weir-provider"


def test_a_certificate_is_kept_privately_and_reused(runtime_dir: Path) -> None:
    pem, key = certificate()
    assert certificate() == (pem, key)
    assert kept_folder() == str(runtime_dir)
    assert runtime_dir.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in runtime_dir.iterdir()] == ["plugin-tls.pem"]
    assert (runtime_dir / "plugin-tls.pem").stat().st_mode & 0o777 == 0o600
    assert key.startswith(b"-----BEGIN PRIVATE KEY-----")

    made = x509.load_pem_x509_certificate(pem)
    assert made.subject.rfc4514_string() == "CN=localhost"
    assert made.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=KEPT_FOR
    )
    assert x509.load_der_x509_certificate(der(pem)) == made


def test_a_certificate_kept_too_long_is_replaced(runtime_dir: Path) -> None:
    first = certificate()
    old = time.time() - KEPT_FOR - 60
    os.utime(runtime_dir / "plugin-tls.pem", (old, old))
    second = certificate()
    assert second != first
    assert certificate() == second


def test_a_folder_others_may_read_is_never_used(runtime_dir: Path) -> None:
    runtime_dir.mkdir(mode=0o755)
    runtime_dir.chmod(0o755)
    assert certificate() != certificate()
    assert list(runtime_dir.iterdir()) == []


def test_a_kept_file_others_may_read_or_a_symlink_is_not_trusted(
    runtime_dir: Path, tmp_path: Path
) -> None:
    first = certificate()
    kept = runtime_dir / "plugin-tls.pem"
    kept.chmod(0o644)
    second = certificate()
    assert second != first
    assert kept.stat().st_mode & 0o777 == 0o600  # written afresh

    elsewhere = tmp_path / "planted.pem"
    elsewhere.write_bytes(b"".join(second))
    elsewhere.chmod(0o600)
    kept.unlink()
    kept.symlink_to(elsewhere)
    assert certificate() != second
    assert not kept.is_symlink()
