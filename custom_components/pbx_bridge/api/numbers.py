"""Phone numbers, for every provider: what a user types, what a provider writes and reads.

Inside the integration every number is E.164 (`+420601234567`). `normalize_number` reads
what a user types; a provider's `NumberPlan` (in its declaration) says how the provider
writes numbers: `NumberPlan.read` brings a number from its answers or hooks to E.164
(leaving extensions, logins and codes as they are), and `NumberPlan.write` turns E.164
into the form its API wants (national within its country, `00…` otherwise, or always
`00…`). Pure functions, no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
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


class NumberForm(StrEnum):
    """How a provider's API wants the numbers we send it."""

    E164 = "e164"  # +420601234567
    NATIONAL = "national"  # national in its country (trunk prefix included), `00…` abroad
    INTERNATIONAL = "international"  # always 00420601234567


# A provider's number as it wrote it: digits, optionally after a `+`.
_PROVIDER_NUMBER = re.compile(r"\+?[0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberPlan:
    """How a provider writes phone numbers.

    `country_code` (without "+") is the country its national numbers belong to,
    `trunk_prefix` what a national number starts with there ("0" in Israel, none in the
    Czech Republic), `national_digits` how many digits a national number has after the
    trunk prefix; `sends` is the form the API wants.
    """

    country_code: str
    trunk_prefix: str = ""
    national_digits: frozenset[int] = frozenset({9})
    sends: NumberForm = NumberForm.NATIONAL

    def read(self, raw: object) -> str | None:
        """A number from the provider's answer or hook in E.164; None when there is none.

        `777123456`, `00421…`, `420777123456` and `+420…` become E.164 (Israel: also
        `0501234567`); what is not a phone number (an extension, a login, a `*` code, a
        name) stays as the provider wrote it.
        """
        text = str(raw).strip() if raw is not None else ""
        if not text:
            return None
        if not _PROVIDER_NUMBER.fullmatch(text) or text.startswith("+"):
            return text
        if text.startswith("00"):
            international = text[2:]
            if MIN_E164_DIGITS <= len(international) <= MAX_E164_DIGITS and not (
                international.startswith("0")
            ):
                return "+" + international
            return text
        national = text.removeprefix(self.trunk_prefix) if self.trunk_prefix else text
        if (
            (not self.trunk_prefix or national != text)
            and not national.startswith("0")
            and len(national) in self.national_digits
        ):
            return f"+{self.country_code}{national}"
        if text.startswith(self.country_code) and (
            len(text) - len(self.country_code) in self.national_digits
        ):
            return "+" + text
        return text

    def write(self, e164: str) -> str:
        """An E.164 number in the form the provider's API wants; anything else unchanged.

        NATIONAL: `+420777123456` -> `777123456` (Israel: `+972501234567` -> `0501234567`),
        other countries `00<cc>…`. INTERNATIONAL: always `00<cc>…`.
        """
        if not e164.startswith("+") or self.sends is NumberForm.E164:
            return e164
        if self.sends is NumberForm.NATIONAL and e164.startswith(f"+{self.country_code}"):
            return self.trunk_prefix + e164[1 + len(self.country_code) :]
        return "00" + e164[1:]


CZECH_NUMBERS = NumberPlan(country_code="420")
ISRAELI_NUMBERS = NumberPlan(
    country_code="972", trunk_prefix="0", national_digits=frozenset({8, 9})
)
