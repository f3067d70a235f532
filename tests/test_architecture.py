"""The architecture, checked: textual only in the TUI; tui -> services -> store/domain (import-linter); no
service module reaches into another's private names."""

import shutil
import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold():
    root = Path(__file__).resolve().parents[1]
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([exe, "--config", str(root / "pyproject.toml")], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_services_never_import_each_others_private_names():
    """A service module uses another's public names only: ``from navigator.services.x import _y`` (or
    ``x._y``) across modules is a rule or helper restated in two places waiting to drift."""
    import ast

    root = Path(__file__).resolve().parents[1] / "src" / "navigator"
    found = []
    for path in sorted((root / "services").rglob("*.py")):
        module = ".".join(("navigator", *path.relative_to(root).with_suffix("").parts))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("navigator."):
                if node.module == module:
                    continue
                found += [
                    f"{path.name}: from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")
                ]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in {
                    "journeys",
                    "bulk",
                    "admin",
                    "records",
                    "steps",
                    "figures",
                }:
                    found.append(f"{path.name}: {base.id}.{node.attr}")
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- private Textual and SQLAlchemy API

# The two modules allowed to touch Textual's or SQLAlchemy's private API, each with a test per workaround
# (tests/tui/test_compat.py, tests/test_store_compat.py).
COMPAT_MODULES = {"tui/compat.py", "store/compat.py"}
PRIVATE_OF = ("textual", "sqlalchemy", "sqlmodel")
# Underscored names that are documented public API: a named tuple's, and SQLAlchemy's Row's.
DOCUMENTED = {"_asdict", "_fields", "_replace", "_make", "_field_defaults", "_mapping", "_tuple", "_t"}
# Found by the name check but not Textual's or SQLAlchemy's (a name they happen to use too).
NOT_THEIRS = {("cli/_output.py", "attribute _width"): "rich.console.Console._width: Rich's, beside Textual"}


def _private_uses() -> set[tuple[str, str]]:
    """(module path under navigator/, what) for each touch of a private Textual/SQLAlchemy name in src/:

    - an import of a private module or name of theirs;
    - a method of ours overriding a private method of one of their classes (found on the class itself);
    - an attribute (``x._name``, or ``getattr(x, "_name")``) that our code never defines and their
      sources do.
    """
    import ast
    import importlib
    import importlib.util
    import inspect
    import re

    root = Path(__file__).resolve().parents[1] / "src" / "navigator"
    theirs: set[str] = set()
    for lib in PRIVATE_OF:
        spec = importlib.util.find_spec(lib)
        assert spec is not None and spec.origin is not None
        for f in Path(spec.origin).parent.rglob("*.py"):
            theirs.update(re.findall(r"\b_[A-Za-z]\w*", f.read_text(encoding="utf-8", errors="replace")))
    trees = {
        path.relative_to(root).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.py"))
    }
    ours: set[str] = set()  # names our code defines (outside the compat modules, which may set theirs)
    for rel, tree in trees.items():
        if rel in COMPAT_MODULES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                ours.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                ours.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                ours.add(node.attr)
            elif isinstance(node, ast.arg):
                ours.add(node.arg)

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    found: set[tuple[str, str]] = set()
    for rel, tree in trees.items():
        module = "navigator." + rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PRIVATE_OF:
                if any(private(p) for p in node.module.split(".")) or any(private(a.name) for a in node.names):
                    found.add((rel, f"import {node.module}"))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] in PRIVATE_OF and any(private(p) for p in a.name.split(".")):
                        found.add((rel, f"import {a.name}"))
            elif isinstance(node, ast.Attribute) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "setattr", "hasattr", "delattr"}
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                name = node.attr if isinstance(node, ast.Attribute) else node.args[1].value
                if private(name) and name not in ours and name not in DOCUMENTED and name in theirs:
                    found.add((rel, f"attribute {name}"))
            elif isinstance(node, ast.ClassDef) and node.bases:
                cls = getattr(importlib.import_module(module), node.name, None)
                if not inspect.isclass(cls):
                    continue
                bases = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] in PRIVATE_OF]
                body = set()  # what the class statement itself defines (not what Textual or SQLModel add)
                for n in node.body:
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
                        body.add(n.name)
                    elif isinstance(n, ast.AnnAssign | ast.Assign):
                        targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                        body.update(t.id for t in targets if isinstance(t, ast.Name))
                for name in body:
                    if private(name) and any(name in b.__dict__ for b in bases):
                        found.add((rel, f"override {node.name}.{name}"))
    return {use for use in found if use not in NOT_THEIRS}


def test_private_textual_and_sqlalchemy_names_only_in_the_compat_modules():
    """Textual and SQLAlchemy change their internals between releases: every touch of their private API
    is fenced in ``tui/compat.py`` or ``store/compat.py``, where a test per workaround fails loudly on
    upgrade, instead of a screen or a bulk write misbehaving somewhere."""
    uses = _private_uses()
    outside = {use for use in uses if use[0] not in COMPAT_MODULES}
    assert outside == set(), "fence these in tui/compat.py or store/compat.py"
    assert any(rel == "store/compat.py" for rel, _ in uses)  # the check sees SQLAlchemy's private names
    assert any(rel == "tui/compat.py" for rel, _ in uses)  # and Textual's


def test_snapshot_tests_live_only_in_snapshot_files():
    """A snapshot belongs to one Textual release, so `.ci/run`'s lowest-versions stage leaves out
    `*snapshots*` files. A `snap_compare` test anywhere else would run there (and a partly run
    snapshot suite makes syrupy fail the session on the 'unused' SVGs)."""
    import re

    uses_fixture = re.compile(r"def test_\w+\([^)]*\bsnap_compare\b")
    tests = Path(__file__).parent
    strays = sorted(
        str(p.relative_to(tests))
        for p in tests.rglob("test_*.py")
        if "snapshots" not in p.name and uses_fixture.search(p.read_text(encoding="utf-8"))
    )
    assert strays == []
