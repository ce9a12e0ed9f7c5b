"""Keep secret option values out of what is printed: --dry-run, --list and error messages."""

from __future__ import annotations

from collections.abc import Sequence

MASK = "***"
_SECRET_WORDS = ("password", "secret", "token")


def is_secret(option: str) -> bool:
    """Whether an option's value must not be shown (``ssl-keyfile-password``, ``api_token``)."""
    name = option.lower()
    return any(word in name for word in _SECRET_WORDS)


def shown(option: str, value: object) -> object:
    """``value`` as it may be shown for ``option``."""
    return MASK if is_secret(option) else value


def redact_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with the values of secret options masked, in both ``--a=b`` and ``--a b`` forms."""
    redacted: list[str] = []
    mask_next = False
    for token in argv:
        if mask_next and not token.startswith("-"):
            redacted.append(MASK)
            mask_next = False
            continue
        mask_next = False
        flag, equals, _ = token.partition("=")
        if flag.startswith("-") and is_secret(flag):
            if equals:
                redacted.append(f"{flag}={MASK}")
                continue
            mask_next = True
        redacted.append(token)
    return redacted
