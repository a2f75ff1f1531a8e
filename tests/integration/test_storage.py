"""The SQLite store: pragmas, outbox marker, cascades, migrations, concurrency."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from cmr_desktop.domain import Brand, Channel, PreferenceSet
from cmr_desktop.storage import (
    SCHEMA_HEAD,
    HomeUnusable,
    Store,
    StoreBusy,
    StoreError,
    current_revision,
    migrate,
)
from cmr_desktop.storage.db import KNOWN_REVISIONS, MIGRATIONS
from cmr_desktop.storage.models import Base
from cmr_desktop.testing.sample import sample_brands
from tests.conftest import NOW


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path)
    yield s
    s.close()


def test_connection_pragmas(store: Store) -> None:
    with store.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_brands_round_trip_as_domain_objects(store: Store) -> None:
    brands = sample_brands(20)
    with store.write() as uow:
        uow.brands.add_many(brands, now=NOW)
    with store.read() as uow:
        loaded = {b.slug: b for b in uow.brands.all()}
    for b in brands:
        got = loaded[b.slug]
        assert isinstance(got, Brand)
        assert dataclasses.replace(got, created_at=None, updated_at=None) == b
        assert got.created_at == NOW


def test_edit_and_pending_marker_share_one_transaction(store: Store) -> None:
    with store.write() as uow:
        uow.brands.add(Brand("acme", "Acme"), now=NOW, pending=False)
    with store.read() as uow:
        assert uow.brands.pending_slugs() == set()

    class Crash(Exception):
        pass

    edited = PreferenceSet().with_channel(Channel.SMS, False)
    seen_inside: set[str] = set()

    def edit_then_crash() -> None:
        with store.write() as uow:
            brand = uow.brands.get("acme")
            uow.brands.update(brand.with_preferences(edited), now=NOW)
            seen_inside.update(uow.brands.pending_slugs())  # written in the same transaction
            raise Crash  # e.g. the process dies before commit

    with pytest.raises(Crash):
        edit_then_crash()
    assert seen_inside == {"acme"}
    with store.read() as uow:
        assert uow.brands.get("acme").preferences == PreferenceSet()
        assert uow.brands.pending_slugs() == set()

    with store.write() as uow:
        brand = uow.brands.get("acme")
        uow.brands.update(brand.with_preferences(edited), now=NOW)
    with store.read() as uow:
        assert uow.brands.get("acme").preferences == edited
        assert uow.brands.pending_slugs() == {"acme"}


def test_removing_a_brand_removes_its_rows(store: Store) -> None:
    with store.write() as uow:
        uow.brands.add_many(sample_brands(3), now=NOW)
        uow.brands.remove("brand-000001")
    con = sqlite3.connect(store.path)
    for table in ("brands", "preferences", "outbox"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 2, table
    assert (
        con.execute(
            "SELECT count(*) FROM brand_tags WHERE brand_id NOT IN (SELECT id FROM brands)"
        ).fetchone()[0]
        == 0
    )
    con.close()


def test_two_writers_at_once_queue_instead_of_failing(store: Store) -> None:
    errors: list[BaseException] = []
    brands = sample_brands(40, full=False)

    def write(part: list[Brand]) -> None:
        try:
            for b in part:
                with store.write() as uow:
                    uow.brands.add(b, now=NOW)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(brands[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.read() as uow:
        assert uow.brands.count() == 40


# --- migrations ---------------------------------------------------------------------------


def test_schema_head_constant_matches_the_alembic_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert scripts.get_current_head() == SCHEMA_HEAD
    assert [s.revision for s in reversed(list(scripts.walk_revisions()))] == list(KNOWN_REVISIONS)


def test_models_match_the_migrations(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    db = tmp_path / "cmr.sqlite3"
    migrate(db, "0001")  # then every migration after it (a new database skips them)
    migrate(db)
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def _schema(db: Path) -> dict[str, Any]:
    """Every table's columns (type, not null, default, key), indexes and foreign keys."""
    con = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        schema: dict[str, Any] = {}
        for t in sorted(tables):
            columns = sorted(tuple(r[1:]) for r in con.execute(f"PRAGMA table_info('{t}')"))
            indexes = sorted(
                (
                    bool(r[2]),
                    tuple(c[2] for c in con.execute(f"PRAGMA index_info('{r[1]}')")),
                )
                for r in con.execute(f"PRAGMA index_list('{t}')")
            )
            keys = sorted(tuple(r[2:]) for r in con.execute(f"PRAGMA foreign_key_list('{t}')"))
            schema[t] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
        return schema
    finally:
        con.close()


def _normal_default(value: object) -> object:
    return value.strip("'") if isinstance(value, str) else value


def test_a_new_database_made_from_the_models_is_the_one_the_migrations_make(
    tmp_path: Path,
) -> None:
    fast, migrated = tmp_path / "fast.sqlite3", tmp_path / "migrated.sqlite3"
    migrate(fast)  # brand new: created from the models, stamped at the head
    migrate(migrated, "0001")
    migrate(migrated)
    assert current_revision(fast) == current_revision(migrated) == SCHEMA_HEAD
    a, b = _schema(fast), _schema(migrated)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table]["indexes"] == b[table]["indexes"], table
        assert a[table]["foreign_keys"] == b[table]["foreign_keys"], table
        cols_a = [
            (n, ty.upper(), nn, _normal_default(d), pk) for n, ty, nn, d, pk in a[table]["columns"]
        ]
        cols_b = [
            (n, ty.upper(), nn, _normal_default(d), pk) for n, ty, nn, d, pk in b[table]["columns"]
        ]
        assert cols_a == cols_b, table


def test_upgrade_from_the_first_revision_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "cmr.sqlite3"
    migrate(db, "0001")
    assert current_revision(db) == "0001"
    con = sqlite3.connect(db)
    ts = "2026-01-02T03:04:05.000000Z"
    con.executemany(
        "INSERT INTO brands (id, slug, name, account_id, status, category, website, "
        "privacy_contact, notes, tags, connector, connector_config, created_at, updated_at) "
        "VALUES (?, ?, ?, '', 'active', 'retail', '', '', 'n', ?, 'manual', '{}', ?, ?)",
        [
            (
                1,
                "acme",
                "Acme",
                "family, loyalty,family,bad;tag," + "x" * 45 + "," + "x" * 41,
                ts,
                ts,
            ),
            (2, "globex", "Globex", "", ts, ts),
        ],
    )
    con.executemany(
        "INSERT INTO preferences (brand_id, local, base, remote_version, pending) "
        "VALUES (?, ?, NULL, NULL, ?)",
        [
            (1, '{"channels": {"sms": {"enabled": false}}, "topics": {}, "grants": []}', 1),
            (2, '{"channels": {}, "topics": {"offers": true}, "grants": []}', 0),
        ],
    )
    con.commit()
    con.close()

    store = Store(tmp_path)  # opening the home applies the pending migration
    try:
        assert current_revision(db) == SCHEMA_HEAD
        assert store.db.backup_path is not None
        assert Path(store.db.backup_path).exists()
        with store.read() as uow:
            acme, globex = uow.brands.get("acme"), uow.brands.get("globex")
            # Old free-text tags are made valid, and duplicates after that are merged.
            assert acme.tags == ("bad-tag", "family", "loyalty", "x" * 40)
            assert acme.preferences.channels == {Channel.SMS: False}
            assert acme.notes == "n"
            assert globex.tags == ()
            assert globex.preferences.topics == {"offers": True}
            assert uow.brands.pending_slugs() == {"acme"}
    finally:
        store.close()
    # And back down again, for a user who must return to an older version.
    migrate(db, "0001")
    con = sqlite3.connect(db)
    old_tags = con.execute("SELECT tags FROM brands WHERE slug='acme'").fetchone()[0]
    assert sorted(old_tags.split(",")) == ["bad-tag", "family", "loyalty", "x" * 40]
    assert con.execute("SELECT pending FROM preferences WHERE brand_id=1").fetchone()[0] == 1
    con.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    con = sqlite3.connect(tmp_path / "cmr.sqlite3")
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer CMR Desktop"):
        Store(tmp_path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cmr.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HomeUnusable, match="is not an SQLite database, or it is damaged"):
        Store(tmp_path)


# --- homes that cannot be opened, and a database kept busy --------------------------------


def _random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _empty_alembic_version(path: Path) -> None:
    Store(path.parent).close()
    con = sqlite3.connect(path)
    con.execute("DELETE FROM alembic_version")
    con.commit()
    con.close()


def _newer(path: Path) -> None:
    Store(path.parent).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()


def _folder(path: Path) -> None:
    path.mkdir(parents=True)


def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [
        (_random_bytes, "cmr.sqlite3 is not an SQLite database, or it is damaged"),
        (_empty_alembic_version, "its alembic_version table is empty"),
        (_newer, "written by a newer CMR Desktop (schema 0099)"),
        (_folder, "cmr.sqlite3 is a folder, not a database"),
        (_foreign, "is an SQLite database, but not CMR Desktop's"),
    ],
)
def test_a_home_whose_database_cannot_be_used_raises_home_unusable(
    tmp_path: Path, spoil: Any, needle: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = home / "cmr.sqlite3"
    spoil(db)
    before = sorted(p.name for p in home.iterdir())
    with pytest.raises(HomeUnusable) as info:
        Store(home)
    problem = info.value
    assert isinstance(problem, StoreError)  # the CLI prints every StoreError as one line
    assert needle in problem.reason
    assert problem.advice
    assert problem.home == home
    assert str(problem).startswith(f"cannot open the data folder {home}: ")
    assert "\n" not in str(problem)
    assert sorted(p.name for p in home.iterdir()) == before  # nothing made or changed
    assert "already exists" not in str(problem)


def test_an_empty_alembic_version_names_the_backup_to_put_back(tmp_path: Path) -> None:
    _empty_alembic_version(tmp_path / "cmr.sqlite3")
    (tmp_path / "cmr.sqlite3.before-0004.bak").write_bytes(b"")
    with pytest.raises(HomeUnusable, match=r"cmr\.sqlite3\.before-0004\.bak"):
        Store(tmp_path)


def test_a_home_that_is_a_file_raises_home_unusable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    with pytest.raises(HomeUnusable, match="it is a file, not a folder") as info:
        Store(home)
    assert info.value.path == home
    assert home.read_text() == "not a folder"


def test_a_fresh_alembic_version_table_alone_is_a_new_database(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "cmr.sqlite3")
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.commit()
    con.close()
    store = Store(tmp_path)  # the first migration never got further: nothing to lose
    assert current_revision(store.path) == SCHEMA_HEAD
    store.close()


def test_a_write_while_another_process_holds_the_database_raises_store_busy(
    tmp_path: Path,
) -> None:
    Store(tmp_path).close()
    holder = sqlite3.connect(tmp_path / "cmr.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a 40,000-brand import in another process does
    store = Store(tmp_path, busy_timeout=0.05)
    try:
        with pytest.raises(StoreBusy, match="the database is busy"), store.write() as uow:
            uow.brands.add(sample_brands(1)[0], now=NOW)
        with store.read() as uow:  # reads still work (WAL)
            assert uow.brands.count() == 0
    finally:
        holder.rollback()
        holder.close()
    with store.write() as uow:  # and once it is free, writes work again
        uow.brands.add(sample_brands(1)[0], now=NOW)
    store.close()


def test_a_database_another_process_filled_meanwhile_is_not_created_again(
    tmp_path: Path,
) -> None:
    from cmr_desktop.storage.db import _create_at_head

    db = tmp_path / "cmr.sqlite3"
    migrate(db)  # "the other process", between our look and our write lock
    con = sqlite3.connect(db)
    before = sorted(con.execute("SELECT type, name, sql FROM sqlite_master"))
    con.close()
    assert _create_at_head(db) is False
    con = sqlite3.connect(db)
    assert sorted(con.execute("SELECT type, name, sql FROM sqlite_master")) == before
    con.close()
    assert current_revision(db) == SCHEMA_HEAD
