"""Reading the file: encoding, header, rows. Only the file's shape is checked here."""

from __future__ import annotations

import csv
import difflib
import io

from navigator.services.tracker_import.columns import COLUMNS, REQUIRED, Problem

EMPTY = "The file is empty: expected a header row and one row per referral."
FIELD_LIMIT = csv.field_size_limit()  # the csv module's own limit on one cell (131,072 characters)


def decode(data: bytes) -> tuple[str | None, list[Problem]]:
    """The file's text (UTF-8, a byte-order mark accepted), or why it is not text we can read."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [
            (
                0,
                "",
                "The file is UTF-16 text (as 'Unicode text' saves it): save it from the spreadsheet as "
                "'CSV UTF-8' and import again.",
            )
        ]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            (
                line,
                "",
                f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on this line). "
                "Save it from the spreadsheet as 'CSV UTF-8' and import again.",
            )
        ]
    if "\x00" in text:
        return None, [(0, "", "The file holds NUL bytes: it is not a CSV text file (save it as 'CSV UTF-8').")]
    if not text.strip():
        return None, [(0, "", EMPTY)]
    return text, []


def _delimiter_hint(cells: list[str]) -> str | None:
    """A header read as one cell that splits on another separator into our column names."""
    if len([c for c in cells if c.strip()]) != 1:
        return None
    only = next(c for c in cells if c.strip())
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        parts = [p.strip().lower() for p in only.split(sep)]
        if len(parts) > 1 and sum(p in COLUMNS for p in parts) >= 2:
            return (
                f"The columns are separated by {name}, not commas: save the file from the spreadsheet as "
                "'CSV UTF-8 (comma delimited)' and import again."
            )
    return None


def header(cells: list[str]) -> tuple[dict[str, int], list[Problem]]:
    """Column name -> position. A column with no name is ignored if it stays empty (read_rows checks)."""
    hint = _delimiter_hint(cells)
    if hint is not None:
        return {}, [(1, "", hint)]
    errors: list[Problem] = []
    index: dict[str, int] = {}
    for i, raw in enumerate(cells):
        name = raw.strip().lower()
        if not name:
            continue
        if name not in COLUMNS:
            near = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f" Did you mean '{near[0]}'?" if near else " See the tracker import format for the columns."
            errors.append((1, raw.strip()[:60], f"Unknown column '{raw.strip()[:60]}'.{hint}"))
            continue
        if name in index:
            errors.append((1, name, f"The column '{name}' appears twice."))
            continue
        index[name] = i
    if not errors:
        for name in REQUIRED:
            if name not in index:
                errors.append((1, name, f"The required column '{name}' is missing."))
    return index, errors


def read_rows(data: bytes) -> tuple[dict[str, int], list[tuple[int, list[str]]], list[Problem]]:
    """(header index, [(line, cells)], file-level problems)."""
    text, errors = decode(data)
    if text is None:
        return {}, [], errors
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    index: dict[str, int] = {}
    header_line = 1
    try:
        head = next(reader, None)
        while head is not None and not any(c.strip() for c in head):
            head = next(reader, None)
        if head is None:
            return {}, [], [(0, "", EMPTY)]
        header_line = reader.line_num
        index, errors = header(head)
        if errors:
            return index, [], [(header_line if line == 1 else line, col, why) for line, col, why in errors]
        unnamed = [i for i, c in enumerate(head) if not c.strip()]
        seen: dict[tuple[str, ...], int] = {}
        last = reader.line_num
        for cells in reader:
            line = last + 1
            last = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) > len(head) and not any(c.strip() for c in cells[len(head) :]):
                cells = cells[: len(head)]
            if len(cells) != len(head):
                errors.append((line, "", f"This row has {len(cells)} cells but the header has {len(head)}."))
                continue
            for i in unnamed:
                if cells[i].strip():
                    errors.append(
                        (
                            line,
                            f"column {i + 1}",
                            "This cell is in a column with no name in the header: name the column, or leave it empty.",
                        )
                    )
            key = tuple(c.strip() for c in cells)
            if key in seen:
                errors.append((line, "", f"This row repeats line {seen[key]} exactly: each referral goes in once."))
                continue
            seen[key] = line
            rows.append((line, cells))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            why = (
                f"A cell here is longer than {FIELD_LIMIT:,} characters: usually a quote opened and never closed. "
                "Check the quotes on this line."
            )
        else:
            why = f"The CSV cannot be read here ({exc}). Check the quotes on this line."
        errors.append((reader.line_num, "", why))
        return index, rows, errors
    if not rows and not errors:
        errors.append((header_line, "", "The file has a header but no rows: there is nothing to import."))
    return index, rows, errors
