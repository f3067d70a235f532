"""The documentation stays true: links resolve, named commands exist, screenshots are the suite's own.

- every relative link (and image) in README.md, ARCHITECTURE.md, CHANGELOG.md and docs/*.md points
  at a file of the repository, and a ``#fragment`` at a heading of that file;
- every ``navigator <sub-command>`` the README names is in ``navigator --help`` (the real console
  script, in a subprocess), and ``navigator import --help`` points at docs/tracker-import.md;
- every screenshot in docs/screenshots/ is byte for byte the snapshot it was copied from
  (``pytest --snapshot-update`` refreshes them through ``docs/screenshots/update.py``);
- nothing points at the old ``shared/spec/`` any more; the sdist ships docs/; the licence file and
  the package metadata agree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "CHANGELOG.md", *DOCS.glob("*.md")])
GUIDES = ("guide-navigator.md", "guide-team-lead.md", "guide-admin.md", "guide-analyst.md")
SPECS = ("domain.md", "monthly-return.md", "tracker-import.md", "swemwbs.md", "cli.md")

NAV = shutil.which("navigator", path=str(Path(sys.executable).parent))
NAV_CMD = [NAV] if NAV else [sys.executable, "-m", "navigator"]

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]+`")


def _prose(text: str) -> str:
    """The text without fenced code and code spans (a link inside code is an example, not a link)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _links(page: Path) -> list[str]:
    return _LINK.findall(_prose(page.read_text(encoding="utf-8")))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def _help(*argv: str) -> str:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run([*NAV_CMD, *argv, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _subcommands() -> set[str]:
    out = _help()
    section = out.split("positional arguments:", 1)[1].split("\noptions:", 1)[0]
    return set(re.findall(r"^ {4}([a-z][a-z-]*)", section, re.M))


def _screenshots_module():
    spec = importlib.util.spec_from_file_location("docs_screenshots_update", DOCS / "screenshots" / "update.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documentation_pages_exist():
    for name in (*SPECS, *GUIDES):
        assert (DOCS / name).is_file(), f"docs/{name} is missing"
    for name in ("README.md", "ARCHITECTURE.md", "CHANGELOG.md", "LICENSE"):
        assert (ROOT / name).is_file(), f"{name} is missing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    checked = 0
    for target in _links(page):
        if re.match(r"^[a-z][a-z+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.relative_to(ROOT)}: the link {target!r} leads nowhere"
        assert dest.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {target!r} leaves the repository"
        if fragment and dest.suffix == ".md":
            assert fragment in _anchors(dest), (
                f"{page.relative_to(ROOT)}: no heading #{fragment} in {path or page.name}"
            )
        checked += 1
    if page.name in ("README.md", "ARCHITECTURE.md") or page.name.startswith("guide-"):
        assert checked, f"{page.relative_to(ROOT)} links to nothing"


def test_the_readme_links_every_guide_and_spec():
    links = {t.partition("#")[0] for t in _links(ROOT / "README.md")}
    for name in (*SPECS, *GUIDES):
        assert f"docs/{name}" in links, f"README.md does not link docs/{name}"
    assert "ARCHITECTURE.md" in links and "CHANGELOG.md" in links and "LICENSE" in links


def test_every_command_the_readme_names_exists():
    commands = _subcommands()
    assert {"init", "demo", "import", "export", "doctor"} <= commands  # the parse found the list
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    code = _FENCE.findall(text) + _CODE_SPAN.findall(text) + re.findall(r"^ {4}\S.*$", text, re.M)
    named: set[str] = set()
    for snippet in code:
        for group in re.findall(r"\bnavigator ((?:[a-z][a-z-]*)(?: / [a-z][a-z-]*)*)", snippet):
            named.update(group.split(" / "))
    assert len(named) >= 10, named
    unknown = sorted(named - commands)
    assert not unknown, f"README.md names sub-commands that `navigator --help` does not list: {unknown}"


def _help_in_process(*argv: str) -> str:
    """``navigator ARGV --help`` in this process (it exits through SystemExit): one start-up for all."""
    import contextlib
    import io

    from navigator.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


def _actions_of(command: str) -> set[str] | None:
    """The actions of a sub-command (``users`` -> add, edit, ...), or None when it has none."""
    text = _help_in_process(command)
    if "positional arguments:" not in text:
        return None
    section = text.split("positional arguments:", 1)[1].split("\noptions:", 1)[0]
    if not re.search(r"^  ACTION\b", section, re.M):
        return None
    return set(re.findall(r"^ {4}([a-z][a-z-]*)", section, re.M))


def _code_lines(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    code = _FENCE.findall(text) + _CODE_SPAN.findall(text) + re.findall(r"^ {4}\S.*$", text, re.M)
    return [line.split(" #", 1)[0] for snippet in code for line in snippet.splitlines()]


def test_every_command_and_action_the_docs_name_exists():
    """``navigator users journeys`` in a guide: ``users`` is a command and ``journeys`` one of its actions."""
    commands = _subcommands()
    named: dict[tuple[str, str | None], str] = {}
    for page in PAGES:
        for snippet in _code_lines(page):
            for command, action in re.findall(r"\bnavigator ([a-z][a-z-]*)(?: ([a-z][a-z-]*)\b(?![.\w/-]))?", snippet):
                named.setdefault((command, action or None), page.name)
    assert len(named) >= 20, named
    unknown = sorted(f"{where}: navigator {c}" for (c, _a), where in named.items() if c not in commands)
    assert not unknown, f"the docs name sub-commands that do not exist: {unknown}"
    actions = {c: _actions_of(c) for c in {c for c, a in named if a}}
    wrong = sorted(
        f"{where}: navigator {c} {a}"
        for (c, a), where in named.items()
        if a and actions[c] is not None and a not in actions[c]  # type: ignore[operator]
    )
    assert not wrong, f"the docs name actions their command does not have: {wrong}"


def test_every_option_the_docs_give_a_command_exists():
    """``navigator export --publication --csv FILE``: each option is in that command's own --help."""
    wanted: dict[tuple[str, ...], set[str]] = {}
    for page in PAGES:
        for line in _code_lines(page):
            for m in re.finditer(r"\bnavigator ([a-z][a-z-]*)(?: ([a-z][a-z-]*)\b(?![.\w/-]))?([^`|]*)", line):
                command, action, rest = m.group(1), m.group(2), m.group(3)
                options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest))
                if options:
                    key = (command, action) if action and action in (_actions_of(command) or ()) else (command,)
                    wanted.setdefault(key, set()).update(options)
    assert len(wanted) >= 10, wanted
    missing = []
    for argv, options in sorted(wanted.items()):
        text = _help_in_process(*argv)
        missing += [f"navigator {' '.join(argv)} {o}" for o in sorted(options) if o not in text]
    assert not missing, f"the docs give options these commands do not have: {missing}"


def test_import_help_points_at_the_tracker_format():
    assert "docs/tracker-import.md" in _help("import")


def test_screenshots_are_the_snapshot_tests_own():
    shots = _screenshots_module()
    assert shots.SHOTS
    for name, source in shots.SHOTS.items():
        copy, snapshot = DOCS / "screenshots" / name, shots.SNAPSHOTS / source
        assert snapshot.is_file(), f"the snapshot {source} is gone: choose another in docs/screenshots/update.py"
        assert copy.is_file() and copy.read_bytes() == snapshot.read_bytes(), (
            f"docs/screenshots/{name} differs from its snapshot: run .venv/bin/python docs/screenshots/update.py"
        )
    on_disk = {p.name for p in (DOCS / "screenshots").glob("*.svg")}
    assert on_disk == set(shots.SHOTS), f"screenshots not copied by update.py: {sorted(on_disk - set(shots.SHOTS))}"


def test_every_screenshot_is_shown_and_every_guide_shows_one():
    shown = {Path(t).name for page in PAGES for t in _links(page) if t.startswith("screenshots/")}
    assert shown == {p.name for p in (DOCS / "screenshots").glob("*.svg")}
    for name in ("guide-navigator.md", "guide-team-lead.md"):
        assert any(t.startswith("screenshots/") for t in _links(DOCS / name)), f"{name} has no screenshot"


def test_nothing_points_at_the_old_spec_folder():
    stale = []
    for folder in ("src", "tests", "db", "docs", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            wanted = path.suffix in (".py", ".md", ".sql", ".toml", ".txt") and path != Path(__file__).resolve()
            if wanted and "shared/spec" in path.read_text(encoding="utf-8", errors="replace"):
                stale.append(str(path.relative_to(ROOT)))
    for name in ("README.md", "ARCHITECTURE.md", "CHANGELOG.md", "pyproject.toml"):
        if "shared/spec" in (ROOT / name).read_text(encoding="utf-8"):
            stale.append(name)
    assert not stale, f"still pointing at shared/spec/ (use docs/): {stale}"


def test_the_sdist_ships_the_documentation_and_the_licence_matches_the_metadata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    for needed in ("/docs", "/src", "/db", "/README.md", "/LICENSE", "/CHANGELOG.md", "/ARCHITECTURE.md"):
        assert needed in include, f"the sdist does not include {needed}"
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["project"]["license"] == "MIT" and licence.startswith("MIT License")
    assert "The navigator contributors" in licence
    # PEP 639: with a licence expression, no licence classifier may be given as well.
    assert not [c for c in project["project"]["classifiers"] if c.startswith("License ::")]


# ---------------------------------------------------------------- docs/cli.md: the JSON shapes are true

_SHAPE = re.compile(r"^### `(navigator [^`]+)`\n(?:.*\n)*?```json\n([\s\S]*?)```", re.M)
_TRACKER = (
    "client_ref,first_name,last_name,date_of_birth,locality,navigator,referral_source,received_date\n"
    "T1,Ann,Smith,1980-01-01,Maidstone,new.navigator,gp,2026-13-01\n"
)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """A small demo store with one sent return, and a tracker CSV with a bad row."""
    import datetime as dt

    folder = tmp_path_factory.mktemp("cli-docs")
    store = folder / "demo.sqlite3"
    env = {**os.environ, "NO_COLOR": "1"}
    run = subprocess.run(
        [*NAV_CMD, "demo", "--clients", "12", "--seed", "3", "--no-open", "--db", str(store)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    out = folder / "return.sqlite"
    run = subprocess.run(
        [*NAV_CMD, "export", "--publication", "--month", month, "--out", str(out), "--final", "--db", str(store)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    tracker = folder / "tracker.csv"
    tracker.write_text(_TRACKER, encoding="utf-8")
    return store, month, tracker


def _json_of(argv: list[str], store: Path) -> object:
    """The command's JSON, run in this process (``navigator.cli.main``: one start-up for them all)."""
    import contextlib
    import io
    import json

    from navigator.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([*argv, "--db", str(store)])
    assert code in (0, 1), f"{argv}: exit {code}"
    return json.loads(out.getvalue())


def _same_shape(doc: object, real: object, where: str) -> None:
    if isinstance(doc, dict):
        assert isinstance(real, dict), f"{where}: documented an object, got {type(real).__name__}"
        assert set(doc) == set(real), f"{where}: documented keys {sorted(doc)}, real keys {sorted(real)}"
        for key in doc:
            _same_shape(doc[key], real[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert isinstance(real, list), f"{where}: documented a list, got {type(real).__name__}"
        if doc and real:
            _same_shape(doc[0], real[0], f"{where}[0]")
    elif doc is not None:
        assert not isinstance(real, dict | list), f"{where}: documented a value, got {type(real).__name__}"


def test_the_documented_json_shapes_are_what_the_commands_print(demo_store):
    import json

    store, month, tracker = demo_store
    shapes = _SHAPE.findall((DOCS / "cli.md").read_text(encoding="utf-8"))
    assert len(shapes) >= 9, "docs/cli.md documents fewer JSON shapes than the list-like commands"
    users = _json_of(["users", "list", "--json"], store)["users"]  # type: ignore[index]
    open_journeys = {u["username"]: _json_of(["users", "journeys", u["username"], "--json"], store) for u in users}
    navigator = next(name for name, got in open_journeys.items() if got["journeys"])  # type: ignore[index]
    client_ref = open_journeys[navigator]["journeys"][0]["client_ref"]  # type: ignore[index]
    values = {"USERNAME": navigator, "KIND": "locality", "MONTH": month, "REF": client_ref, "FILE.csv": str(tracker)}
    seen = set()
    for command, block in shapes:
        argv = [values.get(word, word) for word in command.split()[1:]]
        if argv[:2] == ["returns", "show"]:
            argv.append("--all")  # every figure, so the figures' own shape is checked too
        _same_shape(json.loads(block), _json_of(argv, store), command)
        seen.add(" ".join(command.split()[1:3]))
    for needed in ("users list", "partners list", "reference list", "returns --json", "returns show", "audit --client"):
        assert needed in seen, f"docs/cli.md does not document `navigator {needed}`"
    for needed in ("doctor --json", "retention list", "import FILE.csv"):
        assert needed in seen, f"docs/cli.md does not document `navigator {needed}`"
