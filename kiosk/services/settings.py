"""Settings an administrator may change from the admin pages, on top of ``kiosk.toml``.

Each override is stored in the ``settings`` table and validated through the
one typed configuration schema (:mod:`kiosk.config`), so the admin page has
exactly the bounds and messages of ``kiosk check-config``. The effective
configuration is the file's, with the stored overrides applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.config import Config
from kiosk.errors import ConfigError, InputError
from kiosk.storage import Backend
from kiosk.storage import accounts as store
from kiosk.storage import repository as repo


@dataclass(frozen=True)
class Setting:
    key: str  # "section.field"
    label: str
    kind: str  # "int", "float", "time", "days"

    @property
    def section(self) -> str:
        return self.key.split(".")[0]

    @property
    def field(self) -> str:
        return self.key.split(".")[1]


EDITABLE: tuple[Setting, ...] = (
    Setting("admission.daily_cap", "Daily cap (citizens per day)", "int"),
    Setting("admission.fever_threshold_c", "Fever threshold (°C)", "float"),
    Setting("admission.opens", "Opens (HH:MM)", "time"),
    Setting("admission.closes", "Closes (HH:MM)", "time"),
    Setting("admission.open_days", "Open days", "days"),
    Setting("admission.undo_window_minutes", "Undo window (minutes)", "int"),
    Setting("retention.days", "Keep citizen entries (days)", "int"),
)
BY_KEY = {s.key: s for s in EDITABLE}


class SettingsInvalid(InputError):
    """Values the configuration schema refused; nothing was stored.

    ``str(exc)`` is the English text of ``kiosk check-config``; ``problems`` holds each
    refusal as ``(field, error type, context, input, English message)`` for a page that
    words it in its own language.
    """

    def __init__(
        self, text: str, problems: tuple[tuple[str, str, dict[str, object], object, str], ...]
    ) -> None:
        super().__init__(text)
        self.problems = problems


def current_value(config: Config, key: str) -> Any:
    setting = BY_KEY[key]
    return getattr(getattr(config, setting.section), setting.field)


def apply_overrides(base: Config, overrides: dict[str, Any]) -> Config:
    """``base`` with the overrides applied; raises :class:`ConfigError` naming the field."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if key not in BY_KEY:
            continue  # a setting this version no longer offers: ignored, not fatal
        setting = BY_KEY[key]
        sections.setdefault(setting.section, {})[setting.field] = value
    return base.replace(**sections) if sections else base


def stored_overrides(db: Backend) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in store.settings(db.connection()).items()}


def effective_config(db: Backend, base: Config) -> Config:
    """The configuration to run with; a stored override that no longer validates is skipped."""
    overrides = stored_overrides(db)
    try:
        return apply_overrides(base, overrides)
    except ConfigError:
        good = {}
        for key, value in overrides.items():
            try:
                apply_overrides(base, {key: value})
            except ConfigError:
                continue
            good[key] = value
        return apply_overrides(base, good)


def version(db: Backend) -> str:
    return store.settings_version(db.connection())


def _plain(value: Any) -> Any:
    """A setting's value as JSON holds it (a tuple of days becomes a list)."""
    return list(value) if isinstance(value, tuple) else value


def changed_values(details: str | None) -> tuple[Any, Any] | None:
    """``(old, new)`` from a ``setting_changed`` audit row (``None`` for rows from before
    the old value was kept, which hold only the new value)."""
    try:
        data = json.loads(details or "")
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {"old", "new"}:
        return data["old"], data["new"]
    return None


def save(db: Backend, base: Config, changes: dict[str, Any], *, who: str, now: datetime) -> Config:
    """Validate ``changes`` (with the other overrides) and store them; the new effective config.

    Nothing is stored when any value is invalid; the error lists every bad
    field, e.g. ``admission.daily_cap: Input should be greater than or equal to 1 (got 0)``.
    """
    unknown = sorted(set(changes) - set(BY_KEY))
    if unknown:
        raise InputError(f"not an editable setting: {', '.join(unknown)}")
    stored = stored_overrides(db)
    merged = {**stored, **changes}
    try:
        config = apply_overrides(base, merged)
    except ConfigError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines()[1:]]
        raise SettingsInvalid("; ".join(lines) or str(exc), exc.problems) from None
    before = effective_config(db, base)
    with db.transaction() as conn:
        for key in changes:
            value, old = _plain(current_value(config, key)), _plain(current_value(before, key))
            if value == old:
                continue  # unchanged: nothing to store or audit
            text = json.dumps(value)
            store.put_setting(conn, key, text, who, now)
            details = json.dumps({"old": old, "new": value})
            repo.add_audit(conn, who, "setting_changed", subject=key, details=details, now=now)
    return config
