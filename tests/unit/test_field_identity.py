"""One identity per preference field (domain.fields) and one declared list of a brand's
fields (domain.brand.BRAND_FIELDS): every spelling round-trips, and every consumer uses
the declared list."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmr_desktop.connectors.api import Catalog, Topic
from cmr_desktop.domain import Brand, Channel, DataCategory, Grant, PreferenceSet, Purpose
from cmr_desktop.domain.brand import (
    BRAND_FIELDS,
    CSV_FIELDS,
    DETAIL_FIELDS,
    EDITABLE_FIELDS,
    FORM_FIELDS,
    BrandFieldKind,
)
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.fields import Field, every_field, format_value, journal_name, wire_path
from cmr_desktop.domain.preferences import QuietHours
from cmr_desktop.domain.vocabulary import Decision, Frequency, RelationshipStatus
from cmr_desktop.interop.csv_export import CSV_COLUMNS, write_csv
from cmr_desktop.interop.document import brand_from_dict, brand_to_dict, export_schema
from cmr_desktop.interop.plan import brand_differences
from cmr_desktop.storage.models import BrandRow
from cmr_desktop.storage.repositories import BrandRecord
from cmr_desktop.sync.engine import differences
from tests.strategies import ALL_GRANT_KEYS, TOPIC_IDS, field_keys, field_values

#: Every field a catalog can offer: every channel and its frequency, some topics (one
#: with a dot in its id), every data use of the vocabulary, quiet hours.
EVERY_FIELD = tuple(every_field(topics=TOPIC_IDS))


# --- one identity per preference field -----------------------------------------------


def test_every_catalog_field_is_known_again_by_its_journal_name_and_its_wire_path() -> None:
    assert len(EVERY_FIELD) == 2 * len(Channel) + len(TOPIC_IDS) + len(ALL_GRANT_KEYS) + 1
    for field in EVERY_FIELD:
        assert Field.from_journal_name(field.journal_name) == field
        assert Field.from_wire_path(field.wire_path) == field
    # ... and no two fields share a spelling.
    for spelling in ("journal_name", "wire_path", "plan_name"):
        names = [getattr(f, spelling) for f in EVERY_FIELD]
        assert len(set(names)) == len(names), spelling


@given(st.data())
def test_any_field_and_value_round_trip_through_every_spelling(data: st.DataObject) -> None:
    key = data.draw(field_keys(ALL_GRANT_KEYS))
    value = data.draw(st.none() | field_values(key))
    field = Field(key)
    assert Field.from_journal_name(field.journal_name) == field
    assert Field.from_wire_path(field.wire_path) == field
    assert field.parse(field.format(value)) == value
    assert field.journal_name == journal_name(key)
    assert field.wire_path == wire_path(key)


def test_the_spellings_are_the_ones_stored_journals_and_plugins_already_use() -> None:
    contact_marketing = Field(("grant", DataCategory.CONTACT, Purpose.MARKETING))
    email_frequency = Field(("frequency", Channel.EMAIL))
    assert [contact_marketing.journal_name, email_frequency.journal_name] == [
        "grant.contact.marketing",
        "frequency.email",
    ]
    assert [contact_marketing.wire_path, email_frequency.wire_path] == [
        "grants.contact:marketing",
        "channels.email.frequency",
    ]
    assert Field(("channel", Channel.SMS)).wire_path == "channels.sms"
    assert Field(("topic", "product.updates")).journal_name == "topic.product.updates"
    assert Field(("quiet_hours",)).wire_path == Field(("quiet_hours",)).journal_name
    assert contact_marketing.plan_name == "grant contact marketing"
    assert [contact_marketing.label(), email_frequency.label()] == [
        "Contact for marketing",
        "Email frequency",
    ]
    assert Field(("grant", DataCategory.HEALTH, Purpose.AI_TRAINING)).journal_words == (
        "Health for ai training"
    )


def test_the_journal_text_of_each_kind_of_value() -> None:
    values: list[Any] = [
        None,
        True,
        False,
        Frequency.WEEKLY,
        Grant(Decision.DENY),
        Grant(Decision.ALLOW, dt.date(2027, 6, 30)),
        QuietHours(dt.time(21), dt.time(8)),
    ]
    assert [format_value(v) for v in values] == [
        "default",
        "on",
        "off",
        "weekly",
        "deny",
        "allow@2027-06-30",
        "21:00-08:00",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "channel.fax",
        "channel",
        "grant.contact",
        "grant.contact.marketing.more",
        "topic.Not Valid",
        "quiet_hours.start",
        "channels.email",
        "",
    ],
)
def test_a_name_that_is_no_field_is_refused_naming_it(name: str) -> None:
    with pytest.raises(DomainError, match="not a preference field"):
        Field.from_journal_name(name)


@pytest.mark.parametrize(
    "path",
    ["channels.email.enabled", "channels", "grants.contact.marketing", "topics.", "channel.email"],
)
def test_a_wire_path_that_is_no_field_is_refused_naming_it(path: str) -> None:
    with pytest.raises(DomainError, match=f"not a preference field: {path!r}"):
        Field.from_wire_path(path)


def test_a_value_text_that_does_not_fit_its_field_is_refused_naming_the_field() -> None:
    with pytest.raises(DomainError, match=r"channel\.email: invalid value 'weekly'"):
        Field(("channel", Channel.EMAIL)).parse("weekly")
    with pytest.raises(DomainError, match=r"frequency\.sms: invalid value 'on'"):
        Field(("frequency", Channel.SMS)).parse("on")


def test_the_plugin_api_names_every_field_a_vendor_cannot_take_by_its_wire_path() -> None:
    prefs = PreferenceSet.from_fields(
        {f.key: _a_value(f) for f in EVERY_FIELD if f.kind != "topic" or f.key[1] == "news"}
    )
    nothing = Catalog(channels=frozenset(), topics=(Topic("news", "News", required=True),))
    named = {path for path, _ in nothing.violations(prefs.with_topic("news", False))}
    expected = {f.wire_path for f in EVERY_FIELD if f.kind != "topic" or f.key[1] == "news"}
    assert named == expected
    assert all(Field.from_wire_path(path) for path in named)
    assert nothing.restrict(prefs) == PreferenceSet(topics={"news": True})


def test_the_engine_tells_differences_by_the_journal_names() -> None:
    prefs = PreferenceSet.from_fields({f.key: _a_value(f) for f in EVERY_FIELD})
    lines = differences(PreferenceSet(), prefs)
    named = [line.split(": ", 1)[0] for line in lines]
    assert named == sorted(named, key=lambda n: Field.from_journal_name(n).sort_key)
    assert set(named) == {f.journal_name for f in EVERY_FIELD}


def test_the_journal_window_and_the_editor_word_every_field_as_declared() -> None:
    from cmr_desktop.ui.editor import field_label
    from cmr_desktop.ui.journal import field_words

    for field in EVERY_FIELD:
        assert field_words(field.journal_name) == field.journal_words
        assert field_label(field.key) == field.label()
    assert field_words("not.a.field") == "not.a.field"


def _a_value(field: Field) -> Any:
    return {
        "channel": True,
        "topic": True,
        "frequency": Frequency.DAILY,
        "grant": Grant(Decision.ALLOW),
        "quiet_hours": QuietHours(dt.time(22), dt.time(7)),
    }[field.kind]


# --- one declared list of a brand's fields ------------------------------------------


def _full_brand(**changes: Any) -> Brand:
    brand = Brand(
        slug="acme",
        name="Acme",
        account_id="A-1",
        status=RelationshipStatus.PAUSED,
        category="retail",
        website="https://acme.example",
        privacy_contact="privacy@acme.example",
        notes="two\nlines",
        tags=("b", "a"),
        connector="openpref",
        connector_config={"z": "1", "base_url": "https://api.acme.example"},
        preferences=PreferenceSet(channels={Channel.EMAIL: False}),
        created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        updated_at=dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    )
    return dataclasses.replace(brand, **changes)


def test_the_declared_fields_are_exactly_a_brands_fields_besides_its_preferences() -> None:
    names = [f.name for f in dataclasses.fields(Brand) if f.name != "preferences"]
    assert [f.name for f in BRAND_FIELDS] == names


def test_every_consumer_list_is_derived_from_the_declared_one() -> None:
    from cmr_desktop.ui.editor import _DETAIL_LABELS, DETAILS

    editable = "name account_id status category website privacy_contact notes tags connector"
    assert [f.name for f in EDITABLE_FIELDS] == editable.split()
    assert [f.name for f in DETAIL_FIELDS] == [
        *(f.name for f in EDITABLE_FIELDS),
        "connector_config",
    ]
    assert DETAILS == ("category", "website", "account_id", "privacy_contact", "notes")
    assert tuple(f.name for f in FORM_FIELDS) == DETAILS
    assert {f.name: f.label for f in FORM_FIELDS} == _DETAIL_LABELS
    assert all(
        f.editable and f.kind in (BrandFieldKind.TEXT, BrandFieldKind.NOTES) for f in FORM_FIELDS
    )


def test_a_json_export_holds_exactly_the_declared_fields_in_their_order() -> None:
    doc = brand_to_dict(_full_brand())
    assert list(doc) == [*(f.name for f in BRAND_FIELDS), "preferences"]
    assert brand_from_dict(json.loads(json.dumps(doc))) == _full_brand()
    # Timestamps only when known (as before).
    bare = brand_to_dict(_full_brand(created_at=None, updated_at=None))
    assert list(bare) == [
        *(f.name for f in BRAND_FIELDS if f.kind is not BrandFieldKind.STAMP),
        "preferences",
    ]
    assert doc["status"] == "paused"
    assert doc["tags"] == ["a", "b"]
    assert list(doc["connector_config"]) == ["base_url", "z"]
    assert doc["created_at"] == "2026-01-02T03:04:05.000000Z"


def test_the_export_schema_names_the_declared_fields_with_their_limits() -> None:
    brand = export_schema()["definitions"]["brand"]
    assert list(brand["properties"]) == [*(f.name for f in BRAND_FIELDS), "preferences"]
    for f in BRAND_FIELDS:
        if f.limit is not None:
            assert brand["properties"][f.name]["maxLength"] == f.limit, f.name


def test_a_csv_export_has_exactly_the_declared_columns() -> None:
    assert CSV_COLUMNS == (
        "brand",
        "name",
        "category",
        "status",
        "connector",
        "tags",
        "channel",
        "enabled",
        "frequency",
        "quiet_hours",
    )
    assert CSV_COLUMNS[: len(CSV_FIELDS)] == tuple(f.column for f in CSV_FIELDS)
    out = io.StringIO()
    write_csv([_full_brand()], out)
    lines = out.getvalue().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[1] == "acme,Acme,retail,paused,openpref,a;b,email,off,,"


def test_the_import_plan_compares_every_declared_detail() -> None:
    old = Brand(slug="acme", name="Acme Old")
    new = _full_brand()
    changed = [line.split(":", 1)[0] for line in brand_differences(old, new)]
    assert changed == [*(f.name for f in DETAIL_FIELDS), "channel email"]


def test_the_database_and_the_read_model_hold_the_declared_fields() -> None:
    columns = BrandRow.__table__.columns
    stored = [f for f in BRAND_FIELDS if f.kind is not BrandFieldKind.TAGS]
    assert [c.name for c in columns if c.name != "id"] == [f.name for f in stored]
    for f in stored:
        if f.kind is BrandFieldKind.TEXT and f.limit is not None:
            assert columns[f.name].type.length == f.limit, f.name
    record_fields = [f.name for f in dataclasses.fields(BrandRecord)]
    assert record_fields[: len(BRAND_FIELDS)] == [f.name for f in BRAND_FIELDS]


@pytest.mark.parametrize(
    "field", [f for f in BRAND_FIELDS if f.limit is not None], ids=lambda f: f.name
)
def test_a_brand_refuses_a_text_longer_than_its_declared_limit(field: Any) -> None:
    assert field.limit is not None
    with pytest.raises(DomainError, match=f"{field.label.lower()} is too long"):
        _full_brand(**{field.name: "x" * (field.limit + 1)})
