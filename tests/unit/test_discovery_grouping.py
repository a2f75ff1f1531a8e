"""Grouping mail into brands (cmr_desktop.discovery.grouping): the rule in its docstring."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from cmr_desktop.discovery.grouping import Observation, observe, registrable
from cmr_desktop.mail.headers import MailHeaders

WHEN = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def mail(
    from_address: str,
    *,
    list_id: str = "",
    unsubscribe: tuple[str, ...] = (),
    dkim_pass: tuple[str, ...] = (),
    name: str = "",
) -> MailHeaders:
    return MailHeaders(
        where="test.mbox at byte 0",
        message_id=f"{from_address}.{list_id}@test",
        date=WHEN,
        from_address=from_address,
        from_name=name,
        list_id=list_id,
        list_unsubscribe=unsubscribe,
        dkim_domains=dkim_pass,
        dkim_pass_domains=dkim_pass,
    )


def key(headers: MailHeaders) -> str:
    found = observe(headers)
    assert found is not None
    return found.brand_key


def test_a_subdomain_and_its_registrable_domain_are_one_brand() -> None:
    a = mail("news@news.brand.co.uk", list_id="news.brand.co.uk", dkim_pass=("brand.co.uk",))
    b = mail("info@brand.co.uk", list_id="offers.brand.co.uk", dkim_pass=("brand.co.uk",))
    assert key(a) == key(b) == "brand.co.uk"


def test_registrable_domains_come_from_the_public_suffix_list() -> None:
    assert registrable("News.Brand.co.uk.") == "brand.co.uk"
    assert registrable("co.uk") == ""
    assert registrable("localhost") == ""
    assert registrable("not a domain") == ""


def test_personal_mail_from_a_mailbox_provider_is_not_a_brand() -> None:
    assert observe(mail("alice@gmail.com", dkim_pass=("gmail.com",))) is None


def test_mail_without_a_usable_sender_domain_is_not_a_brand() -> None:
    assert observe(mail("")) is None
    assert observe(mail("root@localhost")) is None


def test_a_newsletter_from_a_gmail_address_is_grouped_by_its_list() -> None:
    letter = mail("club@gmail.com", list_id="members.chess-club.org", unsubscribe=("mailto:x",))
    assert key(letter) == "chess-club.org"


def test_two_lists_sent_from_one_esp_domain_stay_two_brands() -> None:
    a = mail("a@mailchimpapp.net", list_id="123abc.list-id.mcsv.net", dkim_pass=("mcsv.net",))
    b = mail("b@mailchimpapp.net", list_id="456def.list-id.mcsv.net", dkim_pass=("mcsv.net",))
    assert key(a) == "list:123abc.list-id.mcsv.net"
    assert key(b) == "list:456def.list-id.mcsv.net"


def test_esp_mail_is_the_brand_of_its_dkim_pass_domain() -> None:
    a = mail("shop@sendgrid.net", list_id="x.sendgrid.net", dkim_pass=("sendgrid.net", "shop.com"))
    b = mail("news@sendgrid.net", list_id="y.sendgrid.net", dkim_pass=("bakery.fr",))
    assert (key(a), key(b)) == ("shop.com", "bakery.fr")


def test_esp_mail_without_a_brand_signature_is_the_brand_of_its_list_domain() -> None:
    letter = mail("news@sendgrid.net", list_id="weekly.bakery.fr", dkim_pass=("sendgrid.net",))
    assert key(letter) == "bakery.fr"


def test_esp_mail_with_no_list_is_grouped_by_its_from_address() -> None:
    assert key(mail("orders@amazonses.com", unsubscribe=("mailto:u@x",))) == (
        "from:orders@amazonses.com"
    )


def test_a_verified_signer_of_another_domain_is_the_brand() -> None:
    letter = mail("hello@brandmail.com", list_id="news.brandmail.net", dkim_pass=("brand.co.uk",))
    assert key(letter) == "brand.co.uk"


def test_a_list_of_the_from_domain_keeps_the_from_domain_whoever_signed() -> None:
    letter = mail("hello@shop.com", list_id="news.shop.com", dkim_pass=("agency.com",))
    assert key(letter) == "shop.com"


def test_a_signature_that_did_not_pass_is_never_used() -> None:
    forged = MailHeaders(
        where="x",
        from_address="hello@shop.com",
        list_id="news.other.com",
        dkim_domains=("brand.co.uk",),
        dkim_pass_domains=(),
    )
    assert key(forged) == "shop.com"


def test_an_observation_keeps_the_headers_discovery_needs_and_no_body() -> None:
    found = observe(
        mail(
            "news@brand.co.uk",
            list_id="news.brand.co.uk",
            unsubscribe=("https://brand.co.uk/u", "mailto:u@brand.co.uk"),
            dkim_pass=("brand.co.uk",),
            name="Brand",
        )
    )
    assert found == Observation(
        brand_key="brand.co.uk",
        domain="brand.co.uk",
        name="Brand",
        message_id="news@brand.co.uk.news.brand.co.uk@test",
        date=WHEN,
        from_address="news@brand.co.uk",
        list_id="news.brand.co.uk",
        unsubscribe=("https://brand.co.uk/u", "mailto:u@brand.co.uk"),
        one_click=False,
        dkim_pass_domain="brand.co.uk",
        where="test.mbox at byte 0",
    )


def test_a_message_without_a_message_id_is_identified_by_where_it_is() -> None:
    found = observe(
        MailHeaders(where="inbox at byte 9", from_address="a@shop.com", list_id="news.shop.com")
    )
    assert found is not None
    assert found.ident == "where:inbox at byte 9"


_TEXT = st.text(st.characters(codec="utf-8"), max_size=80)
_DOMAINISH = st.one_of(
    _TEXT, st.from_regex(r"[a-z0-9.-]{0,30}\.(com|co\.uk|de|net|example)", fullmatch=True)
)


@settings(max_examples=200, deadline=None)
@given(
    from_address=st.one_of(_TEXT, st.builds(lambda d: f"x@{d}", _DOMAINISH)),
    list_id=_DOMAINISH,
    dkim=st.lists(_DOMAINISH, max_size=3),
    unsubscribe=st.lists(_TEXT, max_size=3),
)
def test_grouping_never_fails_on_hostile_headers(
    from_address: str, list_id: str, dkim: list[str], unsubscribe: list[str]
) -> None:
    found = observe(
        MailHeaders(
            where="x",
            from_address=from_address,
            list_id=list_id,
            list_unsubscribe=tuple(unsubscribe),
            dkim_domains=tuple(dkim),
            dkim_pass_domains=tuple(dkim),
        )
    )
    assert found is None or (found.brand_key and found.ident == "where:x")


def test_a_person_on_their_own_domain_is_not_a_brand_but_a_brand_s_signed_receipt_is() -> None:
    person = MailHeaders(where="1", from_address="zoe@obrien.ie", from_name="Zoë O'Brien")
    assert observe(person) is None  # no list headers, not signed by obrien.ie
    receipt = MailHeaders(
        where="2", from_address="orders@shop.com", dkim_pass_domains=("shop.com",)
    )
    found = observe(receipt)
    assert found is not None
    assert found.brand_key == "shop.com"
    signed_elsewhere = MailHeaders(
        where="3", from_address="sam@example.org", dkim_pass_domains=("relay.example",)
    )
    assert observe(signed_elsewhere) is None
