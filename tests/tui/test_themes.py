"""The high-contrast theme keeps every text colour at WCAG 4.5:1 or more against the backgrounds it
is drawn on; the theme a person picks is remembered in their config file, per person."""

from __future__ import annotations

import tomllib

import pytest
from textual.color import Color

from navigator.tui import themes
from navigator.tui.app import NavigatorApp
from navigator.tui.themes import HIGH_CONTRAST, HIGH_CONTRAST_NAME


def _luminance(c: Color) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def contrast(a: Color, b: Color) -> float:
    """The WCAG 2 contrast ratio of two opaque colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_wcag_formula():
    assert contrast(Color.parse("#000000"), Color.parse("#ffffff")) == pytest.approx(21)
    assert contrast(Color.parse("#767676"), Color.parse("#ffffff")) == pytest.approx(4.54, abs=0.01)


def test_high_contrast_text_is_at_least_4_5_to_1_on_every_background():
    colours = HIGH_CONTRAST.to_color_system().generate()
    base = Color.parse(colours["background"])

    def solid(name: str) -> Color:
        return base + Color.parse(colours[name])  # a translucent colour as drawn over the background

    texts = [n for n in colours if n.startswith("text") and not n.endswith("-style")]
    texts += ["foreground", "foreground-muted", "foreground-disabled"]
    texts += ["primary", "secondary", "accent", "warning", "error", "success"]  # used as text colours
    backgrounds = ["background", "surface", "panel", "boost", "surface-active", "footer-background"]
    assert {"text", "text-muted", "text-disabled", "text-primary", "text-error"} <= set(texts)
    low = {
        (t, b): round(contrast(solid(t), solid(b)), 2)
        for t in texts
        for b in backgrounds
        if contrast(solid(t), solid(b)) < 4.5
    }
    assert not low
    for fg, bg in (
        ("block-cursor-foreground", "block-cursor-background"),
        ("block-cursor-blurred-foreground", "block-cursor-blurred-background"),
        ("footer-key-foreground", "footer-background"),
        ("footer-foreground", "footer-background"),
        ("footer-description-foreground", "footer-background"),
    ):
        assert contrast(solid(fg), solid(bg)) >= 4.5, (fg, bg)


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "config" / "config.toml"
    monkeypatch.setenv("NAVIGATOR_CONFIG", str(path))
    return path


async def test_the_chosen_theme_is_remembered_for_the_next_start(config):
    app = NavigatorApp(None, error="No store is open.")
    themes.remember(app)
    async with app.run_test() as pilot:
        assert HIGH_CONTRAST_NAME in app.available_themes
        app.theme = HIGH_CONTRAST_NAME  # what the palette's "Change theme" does
        await pilot.pause()
    assert tomllib.loads(config.read_text())["tui"]["theme"] == HIGH_CONTRAST_NAME
    again = NavigatorApp(None, error="No store is open.")
    themes.remember(again)
    async with again.run_test() as pilot:
        await pilot.pause()
        assert again.theme == HIGH_CONTRAST_NAME
        again.theme = "textual-light"
        await pilot.pause()
    assert tomllib.loads(config.read_text())["tui"]["theme"] == "textual-light"


async def test_an_app_that_does_not_remember_ignores_the_saved_theme(config):
    """Tests and snapshots never depend on a developer's own choice."""
    themes.save_theme(HIGH_CONTRAST_NAME)
    app = NavigatorApp(None, error="No store is open.")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme != HIGH_CONTRAST_NAME
        assert HIGH_CONTRAST_NAME in app.available_themes


def test_an_unreadable_or_foreign_config_file_falls_back_to_the_default(config):
    config.parent.mkdir(parents=True)
    config.write_text("this is [not toml")
    assert themes.saved_theme() is None
    config.write_text('[tui]\ntheme = 3\n[other]\nkept = "yes"\n')
    assert themes.saved_theme() is None
    themes.save_theme("textual-dark")
    data = tomllib.loads(config.read_text())
    assert data == {"tui": {"theme": "textual-dark"}, "other": {"kept": "yes"}}
