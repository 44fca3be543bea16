"""The internal file storage on a folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from controlplane.store import LocalFileStorage, StoragePathError


@pytest.fixture
def files(tmp_path: Path) -> LocalFileStorage:
    return LocalFileStorage(tmp_path / "storage")


def test_files_round_trip_by_uri(files: LocalFileStorage) -> None:
    uri = files.put("company/team/exec-1/out.csv", b"a,b\n1,2\n")
    streamed = files.put("company/team/exec-1/big.bin", io.BytesIO(b"x" * 3_000_000))
    assert uri == "kestra:///company/team/exec-1/out.csv"
    with files.open(uri) as stream:
        assert stream.read() == b"a,b\n1,2\n"
    assert files.exists(uri) and files.size(streamed) == 3_000_000
    assert list(files.list("company/team")) == [streamed, uri]


def test_put_replaces_a_file_whole_and_leaves_no_draft(files: LocalFileStorage) -> None:
    uri = files.put("a/file.txt", b"first version, longer")
    files.put("a/file.txt", b"second")
    with files.open(uri) as stream:
        assert stream.read() == b"second"
    assert [p.name for p in (files.root / "a").iterdir()] == ["file.txt"]


def test_opening_a_missing_file_names_its_uri(files: LocalFileStorage) -> None:
    with pytest.raises(FileNotFoundError, match=r"kestra:///company/missing\.txt"):
        files.open("kestra:///company/missing.txt")
    assert not files.exists("kestra:///company/missing.txt")


def test_delete_prefix_counts_the_files_it_removed(files: LocalFileStorage) -> None:
    for name in ("a/1", "a/2", "a/sub/3", "b/4"):
        files.put(name, b".")
    assert files.delete_prefix("a") == 3
    assert files.delete_prefix("a") == 0
    assert list(files.list("b")) == ["kestra:///b/4"]


@pytest.mark.parametrize(
    "path", ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "kestra:///../x", ""]
)
def test_paths_escaping_the_root_are_refused(files: LocalFileStorage, path: str) -> None:
    with pytest.raises(StoragePathError):
        files.put(path, b"nope")
    assert not (files.root.parent / "outside.txt").exists()


def test_a_symlink_out_of_the_root_is_refused(files: LocalFileStorage, tmp_path: Path) -> None:
    files.put("inside.txt", b".")
    (files.root / "link").symlink_to(tmp_path)
    with pytest.raises(StoragePathError, match="outside the internal storage"):
        files.put("link/escaped.txt", b"nope")
