"""Phone-number normalization to E.164."""

from __future__ import annotations

import pytest

from custom_components.pbx_bridge.api.errors import PbxInvalidInput
from custom_components.pbx_bridge.api.numbers import normalize_destination, normalize_number


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
