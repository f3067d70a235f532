"""NHS numbers, postcodes, names: checked and normalised."""

from __future__ import annotations

import re
import unicodedata

from navigator.domain.errors import DomainError

_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2})$")


def nhs_check_digit(nine: str) -> int | None:
    """The Modulus 11 check digit for an NHS number's first nine digits; None when it would be 10
    (no valid number starts with those nine digits)."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str | None) -> str | None:
    """10 digits (spaces allowed), Modulus 11 check digit valid, not all one digit."""
    if value is None:
        return None
    digits = re.sub(r"[\s-]", "", str(value))
    if not digits:
        return None
    if not digits.isascii() or not digits.isdigit() or len(digits) != 10:
        raise DomainError("An NHS number is 10 digits.", field="nhs_number")
    if len(set(digits)) == 1:
        raise DomainError("That NHS number is not valid (all one digit).", field="nhs_number")
    check = nhs_check_digit(digits[:9])
    if check is None or check != int(digits[9]):
        raise DomainError("That NHS number is not valid (check digit does not match).", field="nhs_number")
    return digits


def format_nhs_number(digits: str | None) -> str:
    if not digits:
        return ""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def normalise_postcode(value: str | None) -> str | None:
    """UK postcode, upper case with one space before the inward code."""
    if value is None:
        return None
    compact = re.sub(r"\s+", "", str(value)).upper()
    if not compact:
        return None
    if not _POSTCODE.match(compact):
        raise DomainError("That is not a UK postcode (for example ME14 1XX).", field="postcode")
    return f"{compact[:-3]} {compact[-3:]}"


_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}
_KEEP_FORMAT = {"\u200d", "\u200c"}  # joiners used in emoji and some scripts


def clean_text(
    value: str | None, field: str, *, max_len: int = 200, required: bool = False, multiline: bool = False
) -> str | None:
    """Strip control characters and escape sequences; enforce a length.

    Text typed or imported may carry ANSI escapes or other control characters:
    they are never stored, so they can never reach a terminal raw.
    """
    if value is None:
        value = ""
    text = str(value)
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", text)  # CSI sequences
    text = re.sub(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\)?", "", text)  # OSC sequences
    kept = []
    for ch in text:
        if multiline and ch == "\n":
            kept.append(ch)
        elif ch in ("\t", "\r", "\n"):
            kept.append(" ")
        elif unicodedata.category(ch) in _CONTROL and ch not in _KEEP_FORMAT:
            continue
        else:
            kept.append(ch)
    text = "".join(kept).strip()
    if not multiline:
        text = re.sub(r" {2,}", " ", text)
    if required and not text:
        raise DomainError("Required.", field=field)
    if len(text) > max_len:
        raise DomainError(f"Too long: at most {max_len} characters.", field=field)
    return text or None


def fold_name(value: str) -> str:
    """Case- and accent-insensitive key for matching names."""
    text = unicodedata.normalize("NFKD", value).casefold()
    return "".join(ch for ch in text if not unicodedata.combining(ch)).strip()
