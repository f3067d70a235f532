"""NHS numbers, postcodes, phone numbers, names: checked and normalised."""

from __future__ import annotations

import re
import unicodedata

from navigator.domain.errors import DomainError

# The UK postcode's official shape: an outward code A9, A99, AA9, AA99, A9A or AA9A (with the letters
# each position may hold), then the inward code, a digit and two letters (never C, I, K, M, O or V).
# GIR 0AA (Girobank) is the one exception.
_OUTWARD = re.compile(
    r"^(?:[A-PR-UWYZ][0-9]{1,2}"  # A9, A99
    r"|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}"  # AA9, AA99
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"  # A9A
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])$"  # AA9A
)
_INWARD = re.compile(r"^[0-9][ABD-HJLNP-UW-Z]{2}$")


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
    """A UK postcode, upper case with one space before the inward code; anything else is refused.

    Case and spacing are the only things changed: ``me14 1xx``, ``ME141XX`` and ``ME14  1XX`` are
    ``ME14 1XX``. When a space is typed it must be where the inward code begins (the last three
    characters), so ``ME14 ZZ`` is refused rather than read as ``ME1 4ZZ``.
    """
    if value is None:
        return None
    parts = str(value).upper().split()
    if not parts:
        return None
    example = " (for example ME14 1XX)"
    if len(parts) == 1:
        compact = parts[0]
        outward, inward = compact[:-3], compact[-3:]
    elif len(parts) == 2:
        outward, inward = parts
    else:
        raise DomainError("That is not a UK postcode: it has too many spaces" + example + ".", field="postcode")
    if (outward, inward) == ("GIR", "0AA"):
        return "GIR 0AA"
    if not outward.isascii() or not inward.isascii():
        raise DomainError("That is not a UK postcode: letters A-Z and digits only" + example + ".", field="postcode")
    if not _INWARD.match(inward):
        raise DomainError(
            "That is not a UK postcode: the last part is a digit then two letters" + example + ".", field="postcode"
        )
    if not _OUTWARD.match(outward):
        raise DomainError(
            "That is not a UK postcode: it starts with one or two letters and a digit" + example + ".",
            field="postcode",
        )
    return f"{outward} {inward}"


# A UK phone number: a national number of 10 or 11 digits starting 0 (01 and 02 landlines, 03
# non-geographic, 07 mobiles), or the same with +44 / 0044 in place of the 0; spaces, dashes, dots,
# brackets and "(0)" after +44 as people write them.
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-.]+$")
_PHONE_EXAMPLE = "for example 07700 900123 or +44 7700 900123"


def normalise_phone(value: str | None) -> str | None:
    """A UK landline or mobile number, stored as the national number in the usual groups.

    Stored form (one form, whatever was typed): the national digits starting 0, grouped
    ``07700 900123`` / ``01622 123456`` (5+6), ``020 7946 0000`` (3+4+4, 02 numbers),
    ``0300 123 4567`` (4+3+4, 03 numbers), ``01697 73456`` (5+5, the few 10-digit landlines).
    ``+44 (0)7700 900123``, ``0044 7700-900123`` and ``(01622) 123456`` are all accepted.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if not text.isascii() or not _PHONE_CHARS.match(text):
        raise DomainError(
            f"A phone number is digits, with spaces, dashes or brackets if you like ({_PHONE_EXAMPLE}).", field="phone"
        )
    international = text.startswith("+")
    digits = re.sub(r"[^0-9]", "", text.replace("(0)", "") if international else text)
    if not international and digits.startswith("0044"):
        international, digits = True, digits[2:]
    if international:
        if not digits.startswith("44"):
            raise DomainError("Only UK numbers (+44) are accepted.", field="phone")
        digits = "0" + digits[2:].removeprefix("0")
    if not digits.startswith("0") or digits[1:2] not in ("1", "2", "3", "7"):
        raise DomainError(
            f"That is not a UK phone number: it starts 01, 02, 03 or 07, or +44 ({_PHONE_EXAMPLE}).", field="phone"
        )
    ten_allowed = digits.startswith("01")
    if len(digits) != 11 and not (ten_allowed and len(digits) == 10):
        raise DomainError(f"A UK phone number has 11 digits; this has {len(digits)}.", field="phone")
    if len(digits) == 10:
        return f"{digits[:5]} {digits[5:]}"
    if digits.startswith("02"):
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if digits.startswith("03"):
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    return f"{digits[:5]} {digits[5:]}"


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
