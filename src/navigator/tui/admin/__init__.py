"""Admin screens: setting up the service (users, reference data, partners, protocol, measures,
calendar, letters, configuration export/import). Reached from the app shell (see AdminScreen)."""

from navigator.tui.admin.screen import AdminScreen

__all__ = ["AdminScreen"]
