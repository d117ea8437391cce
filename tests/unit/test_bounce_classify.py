"""The classifier reads real reports from several MTAs: kind, recipient, status, VERP id."""

from __future__ import annotations

import pytest

from digest.deliver.bounce_classify import classify
from digest.deliver.verp import Verp
from tests.conftest import FIXTURES

BOUNCES = FIXTURES / "bounces"
FIXTURE_VERP = Verp.from_secret("bounce-fixtures-secret", "example.org")


def events(name: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (e.kind, e.recipient, e.status, e.verp_id) for e in classify((BOUNCES / name).read_bytes())
    ]


def signed(delivery_id: int) -> str:
    return FIXTURE_VERP.signed_id(delivery_id)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("postfix-hard.eml", ("hard", "ada@example.net", "5.1.1", 1)),
        ("postfix-delayed.eml", ("soft", "bea@example.com", "4.2.2", 2)),
        ("exim-hard.eml", ("hard", "cal@example.com", "5.0.0", 3)),
        ("exim-classic-hard.eml", ("hard", "dan@example.edu", "5.1.1", 4)),
        ("gmail-hard.eml", ("hard", "eve.nonexistent@gmail.com", "5.1.1", 5)),
        ("microsoft-hard.eml", ("hard", "frank@contoso.com", "5.1.10", 6)),
    ],
)
def test_delivery_reports_give_kind_recipient_status_and_verp_id(
    name: str, expected: tuple[str, str, str, int]
) -> None:
    kind, recipient, status, delivery_id = expected
    assert events(name) == [(kind, recipient, status, signed(delivery_id))]


def test_the_fixture_verp_ids_are_the_ones_the_deployment_signs() -> None:
    for delivery_id in range(1, 9):
        assert FIXTURE_VERP.delivery_id(signed(delivery_id)) == delivery_id


def test_a_remote_diagnostic_is_kept_in_the_servers_words() -> None:
    (event,) = classify((BOUNCES / "microsoft-hard.eml").read_bytes())
    assert event.diagnostic is not None
    assert "RESOLVER.ADR.RecipientNotFound" in event.diagnostic
    assert event.detector == "dsn"


def test_a_classic_exim_bounce_is_read_by_flufl_bounce() -> None:
    (event,) = classify((BOUNCES / "exim-classic-hard.eml").read_bytes())
    assert event.detector == "flufl"
    assert event.diagnostic is not None and "User unknown" in event.diagnostic


def test_arf_abuse_reports_are_complaints_with_the_envelope_sender() -> None:
    assert events("arf-yahoo-abuse.eml") == [("complaint", "gail@yahoo.com", None, signed(7))]
    # Microsoft's JMRP redacts the recipient: the returned Return-Path still names the delivery
    assert events("arf-microsoft-jmrp.eml") == [("complaint", None, None, signed(8))]


def test_a_feedback_report_that_is_not_abuse_is_unknown() -> None:
    raw = (BOUNCES / "arf-yahoo-abuse.eml").read_bytes()
    (event,) = classify(raw.replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam"))
    assert event.kind == "unknown"


@pytest.mark.parametrize("name", ["out-of-office.eml", "vacation-plain.eml"])
def test_out_of_office_replies_are_auto_replies(name: str) -> None:
    assert [kind for kind, *_ in events(name)] == ["auto_reply"]


@pytest.mark.parametrize("name", ["garbage.eml", "human-reply.eml"])
def test_anything_else_is_unknown(name: str) -> None:
    assert [kind for kind, *_ in events(name)] == ["unknown"]


def test_bytes_that_are_no_message_at_all_are_one_unknown_event() -> None:
    assert [(e.kind, e.verp_ids) for e in classify(b"\x00\xff" * 50)] == [("unknown", ())]
    assert [e.kind for e in classify(b"")] == ["unknown"]


def test_a_dsn_reporting_delivery_only_acts_on_no_one() -> None:
    raw = (BOUNCES / "postfix-hard.eml").read_bytes()
    relayed = raw.replace(b"Action: failed", b"Action: relayed").replace(
        b"Status: 5.1.1", b"Status: 2.0.0"
    )
    assert [e.kind for e in classify(relayed)] == ["unknown"]


def test_a_verp_id_survives_an_mta_that_uppercases_local_parts() -> None:
    raw = (
        (BOUNCES / "postfix-hard.eml")
        .read_bytes()
        .replace(b"bounces+1-twhx3koum4", b"BOUNCES+1-TWHX3KOUM4")
    )
    (event,) = classify(raw)
    assert FIXTURE_VERP.delivery_id(event.verp_id or "") == 1


def test_a_tampered_verp_id_does_not_verify() -> None:
    (event,) = classify((BOUNCES / "forged-verp.eml").read_bytes())
    assert event.verp_id == "1-aaaaaaaaaa"
    assert FIXTURE_VERP.delivery_id(event.verp_id) is None
    assert FIXTURE_VERP.delivery_id(signed(2).replace("2-", "1-")) is None


def test_a_verp_address_is_short_and_lowercase() -> None:
    address = FIXTURE_VERP.address(123_456_789)
    assert address == address.lower() and address.endswith("@example.org")
    assert len(address.partition("@")[0]) <= 30  # far below the 64 a local part may have
