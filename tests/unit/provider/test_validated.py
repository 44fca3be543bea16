"""Sources the server found valid: remembered for minutes, across processes, privately."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from controlplane.provider.validated import KEPT_FOR, ValidSources

SOURCE = "id: hello\nnamespace: team\ntasks: []\n"


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path / "weir-provider"


def test_a_valid_source_is_known_to_the_next_process(runtime_dir: Path) -> None:
    planning = ValidSources("http://weir:8080", "secret-token")
    assert not planning.known(SOURCE)
    planning.remember(SOURCE)
    assert planning.known(SOURCE)
    planning.save()

    kept = runtime_dir / "valid-sources"
    assert kept.stat().st_mode & 0o777 == 0o600
    text = kept.read_text()
    assert "hello" not in text and "secret-token" not in text  # digests only

    applying = ValidSources("http://weir:8080", "secret-token")
    assert applying.known(SOURCE)
    assert not applying.known(SOURCE + "# changed\n")


def test_another_server_or_token_asks_again(runtime_dir: Path) -> None:
    first = ValidSources("http://weir:8080", "one")
    first.remember(SOURCE)
    first.save()
    assert not ValidSources("http://other:8080", "one").known(SOURCE)
    assert not ValidSources("http://weir:8080", "two").known(SOURCE)
    assert not ValidSources("http://weir:8080", None).known(SOURCE)


def test_another_terraform_command_asks_again(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the provider processes of one Terraform command (one parent) share what they found:
    a later plan or apply validates again."""
    planning = ValidSources("http://weir:8080", None)
    planning.remember(SOURCE)
    planning.save()
    monkeypatch.setattr(os, "getppid", lambda: os.getpid())  # started by another process
    assert not ValidSources("http://weir:8080", None).known(SOURCE)


def test_what_each_process_found_is_merged(runtime_dir: Path) -> None:
    one, two = ValidSources("http://weir:8080", None), ValidSources("http://weir:8080", None)
    one.remember("a: 1\n")
    two.remember("b: 2\n")
    one.save()
    two.save()
    later = ValidSources("http://weir:8080", None)
    assert later.known("a: 1\n") and later.known("b: 2\n")


def test_an_old_answer_is_asked_again(runtime_dir: Path) -> None:
    first = ValidSources("http://weir:8080", None)
    first.remember(SOURCE)
    first.save()
    kept = runtime_dir / "valid-sources"
    digest, _, _ = kept.read_text().partition(" ")
    kept.write_text(f"{digest} {int(time.time()) - KEPT_FOR - 1}\n")
    assert not ValidSources("http://weir:8080", None).known(SOURCE)


def test_a_file_others_may_write_is_ignored(runtime_dir: Path) -> None:
    first = ValidSources("http://weir:8080", None)
    first.remember(SOURCE)
    first.save()
    os.chmod(runtime_dir / "valid-sources", 0o666)
    assert not ValidSources("http://weir:8080", None).known(SOURCE)


def test_without_a_private_folder_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_to_all = tmp_path / "weir-provider"
    open_to_all.mkdir(mode=0o777)
    os.chmod(open_to_all, 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    first = ValidSources("http://weir:8080", None)
    first.remember(SOURCE)
    first.save()
    assert list(open_to_all.iterdir()) == []
    assert not ValidSources("http://weir:8080", None).known(SOURCE)
