"""Password rules for staff accounts (officer, admin).

Length is what makes a password strong (NIST SP 800-63B): at least 12
characters, no composition rules, but refuse what attackers try first — the
bundled list of common passwords and base words (``common-passwords.txt``,
also after undoing "l33t" spelling and stripping digits and symbols), one
character or a short pattern repeated, keyboard and counting sequences, and
passwords containing the user name.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_DISTINCT = 5

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6u7i8o9p0",
    "zaq12wsxcde34rfvbgt56yhnmju78ik90lo",
)


@cache
def common_words() -> frozenset[str]:
    text = (resources.files("kiosk") / "common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _unit(text: str) -> str:
    """The shortest piece that ``text`` repeats ("abcabcabc" → "abc")."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _is_sequence(lowered: str) -> bool:
    for seq in _SEQUENCES:
        for variant in (seq, seq[::-1]):
            if lowered in variant * (len(lowered) // len(variant) + 2):
                return True
    return False


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def _is_common(lowered: str) -> bool:
    """On the list as typed, without the digits/symbols around it, or de-"l33t"-ed."""
    words = common_words()
    core = lowered.strip(string.digits + string.punctuation + string.whitespace)
    candidates = (lowered, core, _letters(lowered), _letters(core.translate(_LEET)))
    return any(c and (c in words or _unit(c) in words) for c in candidates)


def N_(text: str) -> str:
    """Marks a text for the message catalogs (the web pages translate it)."""
    return text


TOO_SHORT = N_("password must have at least {n} characters")
TOO_LONG = N_("password must have at most {n} characters")
TOO_FEW_DISTINCT = N_("password repeats too few different characters — choose a longer phrase")
HAS_USERNAME = N_("password must not contain the user name")
SEQUENCE = N_("password is a keyboard or counting sequence")
TOO_COMMON = N_("password is too common (it is on the list attackers try first)")


def password_refusal(password: str, *, username: str = "") -> tuple[str, dict[str, int]] | None:
    """Why ``password`` is refused as ``(message template, parameters)``, or ``None``."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT, {"n": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return TOO_LONG, {"n": MAX_LENGTH}
    if len(set(password)) < MIN_DISTINCT:
        return TOO_FEW_DISTINCT, {}
    lowered = password.lower()
    name = username.strip().lower()
    if len(name) >= 3 and name in lowered:
        return HAS_USERNAME, {}
    if _is_sequence(lowered):
        return SEQUENCE, {}
    if _is_common(lowered):
        return TOO_COMMON, {}
    return None


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why ``password`` is refused (a sentence for the person choosing it), or ``None``."""
    refusal = password_refusal(password, username=username)
    return None if refusal is None else refusal[0].format(**refusal[1])
