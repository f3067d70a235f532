"""Themes: navigator's high-contrast theme, and the theme each person chose, remembered.

The choice (command palette: "Change theme") is kept in the user's config file,
``config.toml`` in the platform's user config folder (``~/.config/navigator/`` on Linux), as
``[tui] theme = "NAME"``; it is per person, not per store. ``HIGH_CONTRAST`` keeps every text
colour at a WCAG contrast ratio of at least 4.5:1 against every background it is drawn on
(``tests/tui/test_themes.py`` computes it).
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from textual.theme import Theme

HIGH_CONTRAST_NAME = "navigator-high-contrast"

_WHITE = "#ffffff"
_BLACK = "#000000"

#: white and bright colours on black: every text colour at least 4.5:1 (most above 10:1)
HIGH_CONTRAST = Theme(
    name=HIGH_CONTRAST_NAME,
    primary="#ffd700",  # gold: 15.4:1 on black
    secondary="#00e5ff",
    accent="#ff9e3d",
    warning="#ffd700",
    error="#ff7b7b",
    success="#5cff5c",
    foreground=_WHITE,
    background=_BLACK,
    surface=_BLACK,
    panel="#1c1c1c",
    boost="#262626",
    dark=True,
    variables={
        # solid text colours (Textual's defaults blend text with the background, lowering contrast)
        "text": _WHITE,
        "text-muted": "#d8d8d8",
        "text-disabled": "#bdbdbd",
        "text-primary": "#ffd700",
        "text-secondary": "#00e5ff",
        "text-accent": "#ff9e3d",
        "text-warning": "#ffd700",
        "text-error": "#ff7b7b",
        "text-success": "#5cff5c",
        "foreground-muted": "#d8d8d8",
        "foreground-disabled": "#bdbdbd",
        # the cursor row: black on gold; a blurred cursor keeps white text on dark grey
        "block-cursor-foreground": _BLACK,
        "block-cursor-background": "#ffd700",
        "block-cursor-blurred-foreground": _WHITE,
        "block-cursor-blurred-background": "#3a3a3a",
        "block-hover-background": "#262626",
        "border": "#ffd700",
        "border-blurred": "#8a8a8a",
        "footer-foreground": _WHITE,
        "footer-background": "#1c1c1c",
        "footer-key-foreground": "#ffd700",
        "footer-description-foreground": _WHITE,
        "input-cursor-background": _WHITE,
        "input-cursor-foreground": _BLACK,
        "input-selection-background": "#005f87",
        "scrollbar": "#8a8a8a",
        "scrollbar-background": "#1c1c1c",
        "link-color": "#00e5ff",
        "link-background-hover": "#005f87",
        "link-color-hover": _WHITE,
    },
)

THEMES = (HIGH_CONTRAST,)


def config_path() -> Path:
    """The user's navigator config file (``NAVIGATOR_CONFIG`` overrides it, e.g. for tests)."""
    override = os.environ.get("NAVIGATOR_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path("navigator", appauthor=False) / "config.toml"


def _read() -> dict:
    import tomllib

    try:
        return tomllib.loads(config_path().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # no file yet, or one we cannot read: the default theme


def saved_theme() -> str | None:
    """The theme this person chose last, if any."""
    name = _read().get("tui", {}).get("theme")
    return name if isinstance(name, str) and name else None


def save_theme(name: str) -> None:
    """Remember ``name`` as this person's theme (other settings in the file are kept)."""
    import tomli_w

    data = _read()
    data.setdefault("tui", {})["theme"] = name
    path = config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: the choice lasts for this session only


_REMEMBERING: weakref.WeakSet = weakref.WeakSet()


def remember(app) -> None:
    """``app`` starts with the person's saved theme and saves each change (``run_app`` asks for it;
    tests and snapshots leave it off, so they never depend on a developer's own choice)."""
    _REMEMBERING.add(app)


def on_mount(app) -> None:
    """Register navigator's themes; for a remembering app, apply the saved theme and save changes."""
    for theme in THEMES:
        app.register_theme(theme)
    if app not in _REMEMBERING:
        return
    name = saved_theme()
    if name and name in app.available_themes and name != app.theme:
        app.theme = name
    app.theme_changed_signal.subscribe(app, lambda theme: save_theme(theme.name))
