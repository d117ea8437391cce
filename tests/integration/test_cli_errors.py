"""An operator's mistake is one line on stderr and a non-zero exit, never a traceback.

Each case runs the real command in a fresh interpreter, as an operator would.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def digest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environ.update({"DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}", **env})
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("variable", ["DIGEST_FROM", "DIGEST_LIST_NAME"])
def test_a_line_break_in_a_header_setting_is_refused_at_start(
    tmp_path: Path, variable: str
) -> None:
    done = digest(tmp_path, "status", **{variable: "Papers <p@example.org>\r\nBcc: x@example.org"})
    assert_one_line_error(done, variable, "one line")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("serve", "--port", "99999", "--no-scheduler"), ("--port", "digest serve --help")),
        (("nosuch",), ("nosuch", "digest --help")),
        (("preview",), ("email", "digest preview --help")),
        (("subscribers", "list", "--bogus"), ("--bogus",)),
        (("run", "--date", "2026-13-01"), ("--date",)),
    ],
)
def test_usage_errors_are_one_line(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    done = digest(tmp_path, *args)
    assert_one_line_error(done, *words)
    assert done.returncode == 2


def upgraded(tmp_path: Path) -> Path:
    done = digest(tmp_path, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    return tmp_path / "digest.db"


def test_a_file_that_is_not_sqlite_is_named_not_dumped(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("my notes, not a database\n")
    done = digest(tmp_path, "status", DIGEST_DATABASE_URL=f"sqlite:///{tmp_path / 'notes.db'}")
    assert_one_line_error(done, "notes.db", "not a database")


def test_a_missing_database_path_is_not_created_by_a_typo(tmp_path: Path) -> None:
    typo = tmp_path / "digets.db"
    done = digest(tmp_path, "status", DIGEST_DATABASE_URL=f"sqlite:///{typo}")
    assert_one_line_error(done, "digets.db", "digest db upgrade")
    assert not typo.exists()


def test_a_database_from_a_newer_schema_does_not_advise_upgrading(tmp_path: Path) -> None:
    path = upgraded(tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    done = digest(tmp_path, "status")
    assert_one_line_error(done, "f00dfeed", "newer")
    assert "db upgrade" not in done.stderr


def test_a_read_only_database_refuses_writes_in_one_line(tmp_path: Path) -> None:
    path = upgraded(tmp_path)
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    done = digest(
        tmp_path,
        "subscribers",
        "add",
        "ada@example.org",
        "--topic",
        "x",
        "--confirmed",
        DIGEST_DATABASE_URL=read_only,
    )
    assert_one_line_error(done, "readonly")


def test_a_bibtex_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    upgraded(tmp_path)
    assert digest(tmp_path, "subscribers", "add", "ada@example.org", "--topic", "x").returncode == 0
    (tmp_path / "latin1.bib").write_bytes(
        "@article{a, title={Caf\xe9 au lait}}\n".encode("latin-1")
    )
    done = digest(tmp_path, "subscribers", "import-bib", "ada@example.org", "latin1.bib")
    assert_one_line_error(done, "latin1.bib", "UTF-8")


def test_a_bibtex_file_cut_short_says_where(tmp_path: Path) -> None:
    upgraded(tmp_path)
    assert digest(tmp_path, "subscribers", "add", "ada@example.org", "--topic", "x").returncode == 0
    (tmp_path / "cut.bib").write_text("@article{a, title={Fine}}\n\n@article{b, title={Cut sho")
    done = digest(tmp_path, "subscribers", "import-bib", "ada@example.org", "cut.bib")
    assert_one_line_error(done, "line 3", "never ends")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("subscribers", "add", "ada@example.org", "--topic", "agents:high"), ("weight",)),
        (("subscribers", "add", "ada@example.org", "--topic", "x" * 300), ("at most",)),
        (("sources", "add", "ftp://example.org/feed.xml"), ("cannot fetch ftp",)),
        (("sources", "add", "no/such/feed.xml"), ("no such feed file",)),
        (("subscribers", "set", "ada@example.org", "--pause-until", "2026-02-30"), ("--pause",)),
    ],
)
def test_bad_input_is_refused_where_it_enters(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    upgraded(tmp_path)
    assert_one_line_error(digest(tmp_path, *args), *words)
