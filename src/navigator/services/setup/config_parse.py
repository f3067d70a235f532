"""Reading and checking a configuration file (``config_io``'s import): its shape and every value on its own.

``parse`` reports every problem at once (``ValidationErrors``, each with where it is in the file), before
the store is opened; ``config_io.import_config`` then applies the checked plan through the admin rules.
"""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Any

from navigator.domain.errors import DomainError, ValidationErrors
from navigator.domain.followups import Protocol
from navigator.services.casework import letters
from navigator.services.setup import admin as A

FORMAT = "navigator-config"
VERSION = 1


class _Checker:
    """Collects every problem in the file, each with where it is."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, where: str, message: str) -> None:
        self.errors.setdefault(where, message)

    def table(self, data: dict, key: str) -> dict:
        v = data.get(key, {})
        if not isinstance(v, dict):
            self.fail(key, "should be a table ([" + key + "]).")
            return {}
        return v

    def tables(self, data: dict, key: str) -> list[dict]:
        v = data.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            self.fail(key, f"should be a list of tables ([[{key}]]).")
            return []
        return v

    def get(self, where: str, row: dict, key: str, typ, *, required: bool = False, default=None):
        if key not in row:
            if required:
                self.fail(f"{where}.{key}", "is missing.")
            return default
        v = row[key]
        ok = isinstance(v, typ) and not (typ is int and isinstance(v, bool))
        if not ok:
            self.fail(f"{where}.{key}", f"should be {_TYPE_NAMES.get(typ, typ)}.")
            return default
        return v

    def strings(self, where: str, row: dict, key: str) -> list[str] | None:
        if key not in row:
            return None
        v = row[key]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.fail(f"{where}.{key}", "should be a list of texts.")
            return None
        return v

    def known(self, where: str, row: dict, keys: set[str]) -> None:
        for k in row:
            if k not in keys:
                self.fail(f"{where}.{k}", "is not a setting navigator knows (check the spelling).")

    def rule(self, where: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except DomainError as exc:
            self.fail(where, exc.message)
            return None


_TYPE_NAMES = {str: "a text in quotes", int: "a whole number", bool: "true or false", date: "a date (2026-05-08)"}
_SECTIONS = {
    "format",
    "version",
    "service",
    "protocol",
    "measures",
    "lots",
    "localities",
    "sources",
    "areas",
    "outcomes",
    "partners",
    "users",
    "calendar",
    "letters",
}


def parse(text: str) -> dict[str, Any]:
    """Read and check the file's shape and every value on its own; raise ValidationErrors listing them all."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DomainError(f"The file is not valid TOML: {exc}.", field="file") from None
    c = _Checker()
    if data.get("format") != FORMAT:
        c.fail("format", f'should be "{FORMAT}": is this a navigator configuration file?')
    if data.get("version") != VERSION:
        c.fail("version", f"this navigator reads version {VERSION} files.")
    c.known("file", data, _SECTIONS)
    out: dict[str, Any] = {}

    svc = c.table(data, "service")
    c.known("service", svc, set(A.SERVICE_FIELDS))
    out["service"] = {k: c.get("service", svc, k, str) for k in A.SERVICE_FIELDS if k in svc}

    if "protocol" in data:
        proto = c.table(data, "protocol")
        c.known("protocol", proto, set(Protocol().to_dict()))
        try:
            out["protocol"] = A.protocol_from(Protocol(), **proto)
        except DomainError as exc:
            c.fail(f"protocol.{exc.field}" if exc.field and exc.field != "protocol" else "protocol", exc.message)

    meas = c.table(data, "measures")
    c.known("measures", meas, {"swemwbs_threshold", "ons4_enabled", "swemwbs_wording"})
    if "swemwbs_threshold" in meas:
        thr = meas["swemwbs_threshold"]
        if isinstance(thr, bool) or not isinstance(thr, (str, int, float)):
            c.fail("measures.swemwbs_threshold", 'should be a number in quotes, e.g. "3".')
        else:
            out["threshold"] = c.rule("measures.swemwbs_threshold", A.check_threshold, thr)
    if "ons4_enabled" in meas:
        out["ons4"] = c.get("measures", meas, "ons4_enabled", bool)
    if "swemwbs_wording" in meas:
        wd = meas["swemwbs_wording"] if isinstance(meas["swemwbs_wording"], dict) else {}
        statements = c.strings("measures.swemwbs_wording", wd, "statements") or []
        out["wording"] = c.rule(
            "measures.swemwbs_wording",
            A.check_wording,
            statements,
            c.get("measures.swemwbs_wording", wd, "copyright", str, required=True),
        )

    def coded(key: str, kind: str) -> list[dict]:
        rows = []
        for i, row in enumerate(c.tables(data, key)):
            where = f"{key}[{i + 1}]"
            c.known(where, row, {"code", "name", "active"})
            code = c.get(where, row, "code", str, required=True)
            name = c.get(where, row, "name", str, required=True)
            if code is not None:
                c.rule(f"{where}.code", A.check_code, kind, code)
            if name is not None:
                c.rule(f"{where}.name", A.checked_text, name, "name", max_len=200, required=True)
            rows.append({"code": code, "name": name, "active": c.get(where, row, "active", bool, default=True)})
        _unique(c, key, [r["code"] for r in rows], "code")
        return rows

    out["lots"] = coded("lots", "lot")
    out["sources"] = coded("sources", "source")
    out["areas"] = coded("areas", "area")
    out["outcomes"] = coded("outcomes", "outcome")

    out["localities"] = []
    for i, row in enumerate(c.tables(data, "localities")):
        where = f"localities[{i + 1}]"
        c.known(where, row, {"name", "lot", "active"})
        name = c.get(where, row, "name", str, required=True)
        if name is not None:
            c.rule(f"{where}.name", A.check_code, "locality", name)
        out["localities"].append(
            {
                "name": name,
                "lot": c.get(where, row, "lot", str, required=True),
                "active": c.get(where, row, "active", bool, default=True),
            }
        )
    _unique(c, "localities", [r["name"] for r in out["localities"]], "name")

    out["partners"] = []
    for i, row in enumerate(c.tables(data, "partners")):
        where = f"partners[{i + 1}]"
        c.known(where, row, {"name", "contact", "active", "programmes"})
        progs = []
        for j, g in enumerate(c.tables(row, "programmes")):
            gw = f"{where}.programmes[{j + 1}]"
            c.known(gw, g, {"name", "expected_response_days", "eligibility_notes", "contact", "active", "localities"})
            days = c.get(gw, g, "expected_response_days", int)
            if days is not None:
                c.rule(f"{gw}.expected_response_days", A.check_days, days)
            progs.append(
                {
                    "name": c.get(gw, g, "name", str, required=True),
                    "expected_response_days": days,
                    "eligibility_notes": c.get(gw, g, "eligibility_notes", str),
                    "contact": c.get(gw, g, "contact", str),
                    "active": c.get(gw, g, "active", bool, default=True),
                    "localities": c.strings(gw, g, "localities") or [],
                }
            )
        _unique(c, f"{where}.programmes", [g["name"] for g in progs], "name")
        out["partners"].append(
            {
                "name": c.get(where, row, "name", str, required=True),
                "contact": c.get(where, row, "contact", str),
                "active": c.get(where, row, "active", bool, default=True),
                "programmes": progs,
            }
        )
    _unique(c, "partners", [p["name"] for p in out["partners"]], "name")

    out["users"] = []
    for i, row in enumerate(c.tables(data, "users")):
        where = f"users[{i + 1}]"
        c.known(where, row, {"username", "name", "role", "active", "lots"})
        username = c.get(where, row, "username", str, required=True)
        if username is not None:
            c.rule(f"{where}.username", A.check_username, username)
        role = c.get(where, row, "role", str, required=True)
        if role is not None:
            c.rule(f"{where}.role", A.check_role, role)
        out["users"].append(
            {
                "username": username,
                "name": c.get(where, row, "name", str, required=True),
                "role": role,
                "active": c.get(where, row, "active", bool, default=True),
                "lots": c.strings(where, row, "lots") or [],
            }
        )
    _unique(c, "users", [u["username"] for u in out["users"]], "username")

    out["calendar"] = []
    for i, row in enumerate(c.tables(data, "calendar")):
        where = f"calendar[{i + 1}]"
        c.known(where, row, {"day", "working", "note"})
        day = row.get("day")
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, date) or hasattr(day, "hour"):
            c.fail(f"{where}.day", "should be a date (2026-05-08).")
            day = None
        out["calendar"].append(
            {
                "day": day,
                "working": c.get(where, row, "working", bool, required=True),
                "note": c.get(where, row, "note", str),
            }
        )
    _unique(c, "calendar", [r["day"] for r in out["calendar"]], "day")

    lt = c.table(data, "letters")
    out["letters"] = {}
    for name, text_ in lt.items():
        if name not in letters.KINDS:
            c.fail(f"letters.{name}", f"is not a letter template (they are: {', '.join(letters.KINDS)}).")
        elif not isinstance(text_, str):
            c.fail(f"letters.{name}", "should be a text.")
        else:
            out["letters"][name] = c.rule(f"letters.{name}", letters.check_template, name, text_)

    if c.errors:
        raise ValidationErrors(c.errors)
    return out


def _unique(c: _Checker, where: str, keys: list, what: str) -> None:
    seen = set()
    for k in keys:
        if k is None:
            continue
        kk = k.lower() if isinstance(k, str) else k
        if kk in seen:
            c.fail(where, f"the {what} '{k}' appears twice.")
        seen.add(kk)
