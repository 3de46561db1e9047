"""Phone-number normalization: whatever a user types -> E.164 (`+420601234567`).

Providers write numbers differently (Odorik `00420…`, Yemot the national `05…` form), so
the integration first brings every number to E.164 here and each client's `format_number`
turns it into its own form. Pure functions, no Home Assistant imports.
"""

from __future__ import annotations

import re

from .errors import PbxInvalidInput

# E.164: a country code and subscriber number of at most 15 digits together.
MAX_E164_DIGITS = 15
# Shorter than this is an extension or a service code, not a number a call can go to.
MIN_E164_DIGITS = 7

# Characters people use to group digits: spaces, dashes, dots, slashes, parentheses.
_SEPARATORS = re.compile(r"[\s\-./()\u00a0]")
# "+44 (0)20 …": the trunk zero some people write after the country code.
_TRUNK_ZERO_AFTER_CODE = re.compile(r"^(\+\d{1,3})\s*\(0\)")


def normalize_number(raw: str, default_country_code: str) -> str:
    """Return `raw` as E.164, reading national numbers as `default_country_code` ones.

    Accepts `+420 601 234 567`, `00420601234567` and national forms (`601234567`, or
    `0501234567` with a trunk zero); raises `PbxInvalidInput` for anything else.
    """
    text = _TRUNK_ZERO_AFTER_CODE.sub(r"\1", raw.strip())
    compact = _SEPARATORS.sub("", text)
    if not compact:
        raise PbxInvalidInput("the phone number is empty")
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    else:
        # National form: drop the trunk zero (Israel, UK …) and add the country code.
        digits = default_country_code + compact.removeprefix("0")
        if not compact.isdigit():
            raise PbxInvalidInput("not a phone number")
    if not digits.isdigit():
        raise PbxInvalidInput("not a phone number")
    if digits.startswith("0"):
        raise PbxInvalidInput("a country code cannot start with 0")
    if not MIN_E164_DIGITS <= len(digits) <= MAX_E164_DIGITS:
        raise PbxInvalidInput(
            f"a phone number has {MIN_E164_DIGITS} to {MAX_E164_DIGITS} digits "
            f"with its country code, not {len(digits)}"
        )
    return f"+{digits}"


def normalize_destination(raw: str, default_country_code: str) -> str:
    """Return an international number as E.164 and any other digit string unchanged.

    Transfer targets are extensions, national numbers the PBX dials as they are, or ids
    (Telfa transfers to a call-plan recipe id), so only `+`/`00` numbers are rewritten.
    """
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith(("+", "00")):
        return normalize_number(raw, default_country_code)
    if not compact.isdigit():
        raise PbxInvalidInput("not an extension or a phone number")
    return compact
