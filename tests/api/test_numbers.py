"""Phone-number normalization to E.164."""

from __future__ import annotations

import pytest

from custom_components.pbx_bridge.api import PROVIDERS
from custom_components.pbx_bridge.api.errors import PbxInvalidInput
from custom_components.pbx_bridge.api.numbers import (
    CZECH_NUMBERS,
    ISRAELI_NUMBERS,
    NumberForm,
    NumberPlan,
    normalize_destination,
    normalize_number,
)


@pytest.mark.parametrize(
    ("raw", "country_code", "expected"),
    [
        # E.164 as typed, with the separators people use.
        ("+420601234567", "420", "+420601234567"),
        ("+420 601 234 567", "420", "+420601234567"),
        ("+420-601-234-567", "420", "+420601234567"),
        (" +420.601.234.567 ", "420", "+420601234567"),
        ("+972 (50) 123-4567", "972", "+972501234567"),
        ("+44 (0)20 7946 0018", "420", "+442079460018"),
        ("+420\u00a0601\u00a0234\u00a0567", "420", "+420601234567"),
        # International with 00 (Odorik's own form).
        ("00420601234567", "420", "+420601234567"),
        ("00 972 50 123 4567", "420", "+972501234567"),
        # National: Czech numbers have no trunk zero, Israeli ones do.
        ("601234567", "420", "+420601234567"),
        ("601 234 567", "420", "+420601234567"),
        ("245008328", "420", "+420245008328"),
        ("0501234567", "972", "+972501234567"),
        ("050-123-4567", "972", "+972501234567"),
        ("03/1234567", "972", "+97231234567"),
    ],
)
def test_normalize_number(raw: str, country_code: str, expected: str) -> None:
    assert normalize_number(raw, country_code) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("+", "not a phone number"),
        ("call me", "not a phone number"),
        ("+420 601 ABC 567", "not a phone number"),
        ("601234567x", "not a phone number"),
        ("+420601234567;ext=1", "not a phone number"),
        ("+0420601234567", "cannot start with 0"),
        ("000420601234567", "cannot start with 0"),
        ("+42060", "not 5"),
        ("12", "not 5"),
        ("+4206012345678901", "not 16"),
    ],
)
def test_normalize_number_rejects(raw: str, message: str) -> None:
    with pytest.raises(PbxInvalidInput, match=message):
        normalize_number(raw, "420")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("101", "101"),
        (" 8001 ", "8001"),
        ("601 234 567", "601234567"),
        ("0501234567", "0501234567"),
        ("+420 601 234 567", "+420601234567"),
        ("00972 50 123 4567", "+972501234567"),
    ],
)
def test_normalize_destination(raw: str, expected: str) -> None:
    assert normalize_destination(raw, "420") == expected


@pytest.mark.parametrize("raw", ["reception", "", "+42", "101#"])
def test_normalize_destination_rejects(raw: str) -> None:
    with pytest.raises(PbxInvalidInput):
        normalize_destination(raw, "420")


# How each provider writes numbers in its answers and hooks, and what it wants from us.
PROVIDER_READS: dict[str, list[tuple[object, str | None]]] = {
    "telfa": [
        ("777123456", "+420777123456"),  # national, no trunk prefix
        ("00421900123456", "+421900123456"),
        ("420777123456", "+420777123456"),
        ("+420602602602", "+420602602602"),
        ("marek.telfa.cz", "marek.telfa.cz"),  # a user's login
        ("101", "101"),  # an extension
        (None, None),
        (" ", None),
    ],
    "daktela": [
        ("603927227", "+420603927227"),
        ("00420123456789", "+420123456789"),
        ("+420123456789", "+420123456789"),
        ("101", "101"),
        ("", None),
    ],
    "daktela_v6": [
        ("603927227", "+420603927227"),  # activitiesCall `clid` (the simulator's form)
        ("00421900123456", "+421900123456"),
        ("agent1", "agent1"),  # a user name
        ("{{clid}}", "{{clid}}"),
        (None, None),
    ],
    "odorik": [
        ("00420601234567", "+420601234567"),  # Odorik writes numbers internationally
        ("*1234", "*1234"),  # a service code
        ("601234567", "+420601234567"),
        ("", None),
    ],
    "yemot": [
        ("0501234567", "+972501234567"),  # mobile: trunk zero and 9 digits
        ("021234567", "+97221234567"),  # landline: trunk zero and 8 digits
        ("972501234567", "+972501234567"),
        ("00420601234567", "+420601234567"),
        ("501234567", "501234567"),  # without the trunk zero: not a national number
        ("0123", "0123"),  # too short for one
        ("ivr2:/5", "ivr2:/5"),
        (None, None),
    ],
    "voipsun": [
        ("800123456", "+420800123456"),
        ("00421900123456", "+421900123456"),
        ("000", "000"),  # too short for an international number
        ("555", "555"),
        ("", None),
    ],
}
PROVIDER_WRITES: dict[str, list[tuple[str, str]]] = {
    "telfa": [("+420777123456", "777123456"), ("+421900123456", "00421900123456")],
    "daktela": [("+420603927227", "603927227"), ("+421900123456", "00421900123456")],
    "daktela_v6": [("+420603927227", "603927227"), ("+421900123456", "00421900123456")],
    "odorik": [("+420601234567", "00420601234567"), ("123", "123")],
    "yemot": [("+972501234567", "0501234567"), ("+420601234567", "00420601234567")],
    "voipsun": [("+420800123456", "800123456"), ("+421900123456", "00421900123456")],
}


def test_every_provider_has_number_forms() -> None:
    assert set(PROVIDER_READS) == set(PROVIDER_WRITES) == set(PROVIDERS)


@pytest.mark.parametrize(
    ("provider", "raw", "expected"),
    [
        (provider, raw, expected)
        for provider, rows in PROVIDER_READS.items()
        for raw, expected in rows
    ],
)
def test_provider_numbers_read_as_e164(provider: str, raw: object, expected: str | None) -> None:
    assert PROVIDERS[provider].declaration.number_plan.read(raw) == expected


@pytest.mark.parametrize(
    ("provider", "e164", "expected"),
    [
        (provider, e164, expected)
        for provider, rows in PROVIDER_WRITES.items()
        for e164, expected in rows
    ],
)
def test_provider_numbers_written_as_the_api_wants(provider: str, e164: str, expected: str) -> None:
    plan = PROVIDERS[provider].declaration.number_plan
    assert plan.write(e164) == expected
    assert plan.read(plan.write(e164)) == (e164 if e164.startswith("+") else expected)


def test_number_plan_forms() -> None:
    e164_plan = NumberPlan(country_code="420", sends=NumberForm.E164)
    assert e164_plan.write("+420601234567") == "+420601234567"
    assert CZECH_NUMBERS.read("0601234567") == "0601234567"  # no trunk zero in Czechia
    assert ISRAELI_NUMBERS.write("+97221234567") == "021234567"
