"""Errors the domain raises: each carries a message a navigator understands."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused an action. ``field`` names the input it concerns, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class ValidationErrors(DomainError):
    """Several fields failed at once; ``errors`` maps field -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        first_field, first = next(iter(self.errors.items()))
        super().__init__(
            first if len(self.errors) == 1 else f"{first} (and {len(self.errors) - 1} more)",
            field=first_field,
        )


class NotFound(DomainError):
    pass


class AccessDenied(DomainError):
    pass


class ConflictError(DomainError):
    """The record changed since it was read (a stale copy was saved)."""


class DuplicatePerson(DomainError):
    """The person already exists; ``matches`` holds the existing client ids."""

    def __init__(self, message: str, matches: list[int]) -> None:
        super().__init__(message, field="client")
        self.matches = matches


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do next."""
