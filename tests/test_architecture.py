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
