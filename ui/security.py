"""Route roles: every view declares who may call it (public, officer or admin).

A view without a declaration is refused (fail closed) and a test enumerating
``app.url_map`` fails for it. Login, sessions, CSRF and headers build on this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

ROLES = ("public", "officer", "admin")
ROLE_ATTR = "_kiosk_role"

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Anyone, including the citizen touchscreen, may call this view."""
    setattr(view, ROLE_ATTR, "public")
    return view


def requires(role: str) -> Callable[[F], F]:
    """Only a logged-in user with ``role`` (an admin may do what an officer may)."""
    if role not in ROLES or role == "public":
        raise ValueError(f"unknown role {role!r}; use @public or one of officer/admin")

    def mark(view: F) -> F:
        setattr(view, ROLE_ATTR, role)
        return view

    return mark


def role_of(view: Callable[..., Any] | None) -> str | None:
    """The role a view declared, or ``None`` when it declared none."""
    return getattr(view, ROLE_ATTR, None) if view is not None else None
