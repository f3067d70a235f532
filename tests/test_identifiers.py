"""NHS numbers, postcodes, free text and name folding (domain/identifiers.py)."""

from __future__ import annotations

import pytest

from navigator.domain.errors import DomainError
from navigator.domain.identifiers import (
    clean_text,
    fold_name,
    format_nhs_number,
    nhs_check_digit,
    normalise_nhs_number,
    normalise_postcode,
)

# ---------------------------------------------------------------- NHS number (Modulus 11)


@pytest.mark.parametrize("text", ["9434765919", "943 476 5919", " 943-476-5919 ", "4010232137", "9990000018"])
def test_valid_nhs_numbers(text):
    assert normalise_nhs_number(text) == "".join(ch for ch in text if ch.isdigit())


def test_nhs_check_digit_computed_by_modulus_11():
    # 9434765919: weights 10..2 over 943476591 -> 299; 299 % 11 = 2; 11 - 2 = 9 = check digit
    total = sum(int(d) * w for d, w in zip("943476591", range(10, 1, -1)))
    assert total == 299 and 11 - total % 11 == 9
    for wrong in "012345678":
        with pytest.raises(DomainError) as info:
            normalise_nhs_number("943476591" + wrong)
        assert "check digit" in info.value.message
        assert info.value.field == "nhs_number"


def test_nhs_check_digit_is_the_one_the_validator_uses():
    assert nhs_check_digit("943476591") == 9
    assert nhs_check_digit("123456789") is None  # 10: no valid number starts with these nine digits
    assert nhs_check_digit("999000001") == 8
    for nine in ("401023213", "000000001", "612345678", "765432101"):
        check = nhs_check_digit(nine)
        if check is None:
            continue
        assert normalise_nhs_number(nine + str(check)) == nine + str(check)


def test_nhs_check_value_10_is_never_valid():
    # 123456789x: 10+18+24+28+30+30+28+24+18 = 210; 210 % 11 = 1; 11 - 1 = 10 -> invalid whatever the digit
    for last in "0123456789":
        with pytest.raises(DomainError):
            normalise_nhs_number("123456789" + last)


def test_nhs_check_value_11_means_zero():
    # 000000051x: 5*3 + 1*2 = 17 -> 17 % 11 = 6 -> 5 ... find one whose remainder is 0
    base = next(
        f"{n:09d}"
        for n in range(100000000, 100001000)
        if sum(int(d) * w for d, w in zip(f"{n:09d}", range(10, 1, -1))) % 11 == 0
    )
    assert normalise_nhs_number(base + "0") == base + "0"
    with pytest.raises(DomainError):
        normalise_nhs_number(base + "1")


@pytest.mark.parametrize("digit", "0123456789")
def test_all_one_digit_refused(digit):
    with pytest.raises(DomainError) as info:
        normalise_nhs_number(digit * 10)
    assert "all one digit" in info.value.message


def test_1111111111_refused_even_though_it_passes_modulus_11():
    total = sum(1 * w for w in range(10, 1, -1))  # 54 -> 54 % 11 = 10 -> check 1
    assert 11 - total % 11 == 1
    with pytest.raises(DomainError):
        normalise_nhs_number("1111111111")


@pytest.mark.parametrize("text", ["943476591", "94347659190", "94347659l9", "９４３４７６５９１９", "abc"])
def test_nhs_must_be_ten_digits(text):
    with pytest.raises(DomainError) as info:
        normalise_nhs_number(text)
    assert "10 digits" in info.value.message or "not valid" in info.value.message


@pytest.mark.parametrize("text", [None, "", "   "])
def test_nhs_empty_is_none(text):
    assert normalise_nhs_number(text) is None


def test_format_nhs_number():
    assert format_nhs_number("9434765919") == "943 476 5919"
    assert format_nhs_number(None) == ""


# ---------------------------------------------------------------- postcodes


@pytest.mark.parametrize(
    "text,expected",
    [
        ("me141xx", "ME14 1XX"),
        ("ME14 1XX", "ME14 1XX"),
        ("  me14   1xx ", "ME14 1XX"),
        ("ct1 2ab", "CT1 2AB"),
        ("TN12 6AA", "TN12 6AA"),
        ("da11ef", "DA1 1EF"),
        ("SW1A1AA", "SW1A 1AA"),
        ("w1a 0ax", "W1A 0AX"),
        ("M1 1AE", "M1 1AE"),
        ("GIR 0AA", "GIR 0AA"),
    ],
)
def test_postcodes_normalised(text, expected):
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize(
    "text", ["ME14", "12345", "ME14 1X", "ME14 1XXX", "M€14 1XX", "ME14-1XX!", "QQQ 1AA", "1ME4 1XX"]
)
def test_bad_postcodes_refused(text):
    with pytest.raises(DomainError) as info:
        normalise_postcode(text)
    assert info.value.field == "postcode"
    assert "postcode" in info.value.message


@pytest.mark.parametrize("text", [None, "", "  "])
def test_empty_postcode_is_none(text):
    assert normalise_postcode(text) is None


# ---------------------------------------------------------------- clean_text


def test_clean_text_strips_ansi_escapes():
    assert clean_text("\x1b[31mRed\x1b[0m alert", "note") == "Red alert"
    assert clean_text("a\x1b[2J\x1b[Hb", "note") == "ab"
    assert clean_text("\x1b]0;owned\x07title", "note") == "title"  # OSC (set window title)
    assert clean_text("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "note") == "link"


def test_clean_text_strips_control_characters():
    assert clean_text("bell\x07 and\x00 null\x08", "note") == "bell and null"
    assert clean_text("right\u202eto-left override", "note") == "rightto-left override"
    assert clean_text("tab\there", "note") == "tab here"
    assert clean_text("del\x7f", "note") == "del"
    assert clean_text("c1\x9bcsi", "note") == "c1csi"
    for ch in clean_text("".join(chr(i) for i in range(0, 0x20)) + "ok", "note"):
        assert ch.isprintable()


def test_clean_text_keeps_ordinary_text():
    assert clean_text("Zoë O'Brien-Łukasz 👍🏽", "name") == "Zoë O'Brien-Łukasz 👍🏽"
    assert clean_text("👨\u200d👩\u200d👧", "name") == "👨\u200d👩\u200d👧"  # joiners kept


def test_clean_text_lines_and_spaces():
    assert clean_text("  two   spaces  ", "name") == "two spaces"
    assert clean_text("line one\nline two", "name") == "line one line two"
    assert clean_text("line one\nline two\r", "note", multiline=True) == "line one\nline two"


def test_clean_text_required_and_length():
    assert clean_text("", "note") is None
    assert clean_text(None, "note") is None
    with pytest.raises(DomainError) as info:
        clean_text("  \x1b[0m ", "first_name", required=True)
    assert info.value.field == "first_name"
    with pytest.raises(DomainError) as info:
        clean_text("x" * 11, "first_name", max_len=10)
    assert "10" in info.value.message
    assert clean_text("x" * 10, "first_name", max_len=10) == "x" * 10


# ---------------------------------------------------------------- name folding


def test_fold_name_is_case_and_accent_insensitive():
    assert fold_name("Zoë") == fold_name("ZOE") == fold_name("zoe")
    assert fold_name("José") == fold_name("jose")
    assert fold_name("STRASSE") == fold_name("straße")
    assert fold_name("Smith") != fold_name("Smyth")
