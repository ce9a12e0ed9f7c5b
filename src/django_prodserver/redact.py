"""Keep secrets out of what is printed: --dry-run, --list, ``manage.py check`` and error messages.

A value is secret by the name of its option (``ssl-keyfile-password``, ``api_token``) or by its
shape, whatever option holds it: the password of a URL (``redis://user:pw@host``) or a token
written as its user (``https://TOKEN@host``), an environment entry whose name says secret
(``DB_PASSWORD=...``), the ``user:password`` pairs of an option such as Flower's ``basic-auth``,
and a secret flag written with its value in one item (``"--ssl-keyfile-password s3cret"``).
Masking keeps the rest (user, host, key), which is what helps to debug a setting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MASK = "***"
_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "api_key", "apikey")
#: Options whose value is ``user:password`` pairs, separated by commas.
_CREDENTIAL_WORDS = ("basic_auth", "http_auth")

# The password of a URL's user-info: "scheme://user:PASSWORD@". RFC 3986 keeps "/?#@" out of
# user-info; a password with a quote in it is masked whole.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\0]*:)[^\s/?#@\0]+@")
# A user-info with no password that is a token, not a user name ("https://ghp_...@host", as
# Git and several APIs take them): user names are short, tokens are 20 characters or more.
_URL_TOKEN = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s:/?#@\0]{20,}@")
# NAME=VALUE, where NAME may say secret (an environment entry, a query string, --flag=value).
_PAIR = re.compile(r"([\w.-]+)=([^\s'\",;&\0]+)")
#: What a message writes for a value to fill in ("such as '--cookie-secret=VALUE'").
_PLACEHOLDER = "VALUE"
# 'NAME': 'VALUE' in the repr of a dict.
_DICT_ITEM = re.compile(r"(['\"])([\w.-]+)\1(: )(['\"])((?:(?!\4).)*)\4")
# '--flag value' quoted as one item, as an error echoes an ARGS item written with a space.
_GLUED_ITEM = re.compile(r"(['\"])(-{1,2}[\w.-]+)(\s+)((?:(?!\1).)+)(?=\1)")


def _name(option: str) -> str:
    return option.lower().lstrip("-").replace("-", "_")


def is_secret(option: str) -> bool:
    """Whether an option's value must not be shown (``ssl-keyfile-password``, ``api_token``)."""
    name = _name(option)
    return any(word in name for word in _SECRET_WORDS)


def is_credential(option: str) -> bool:
    """Whether an option's value is ``user:password`` pairs (Flower's ``basic-auth``)."""
    name = _name(option)
    return not is_secret(option) and any(word in name for word in _CREDENTIAL_WORDS)


def _credentials(value: str) -> str:
    # "user:***" for each pair; an item with no colon may be a password written alone.
    return ",".join(
        f"{pair.partition(':')[0]}:{MASK}" if ":" in pair else MASK for pair in value.split(",")
    )


def _pair(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if value == _PLACEHOLDER:
        return match.group(0)
    # The value may hold a pair of its own: --env=DB_PASSWORD=...
    return f"{name}={MASK}" if is_secret(name) else f"{name}={_PAIR.sub(_pair, value)}"


def _dict_item(match: re.Match[str]) -> str:
    quote, name, colon, value_quote, _ = match.groups()
    if not is_secret(name):
        return match.group(0)
    return f"{quote}{name}{quote}{colon}{value_quote}{MASK}{value_quote}"


def _glued_item(match: re.Match[str]) -> str:
    quote, flag, space, value = match.groups()
    if is_secret(flag):
        return f"{quote}{flag}{space}{MASK}"
    if is_credential(flag):
        return f"{quote}{flag}{space}{_credentials(value)}"
    return match.group(0)


def redact_text(text: str) -> str:
    """``text`` with every secret that its shape shows masked: a message, a command line."""
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    text = _URL_TOKEN.sub(rf"\g<1>{MASK}@", text)
    text = _PAIR.sub(_pair, text)
    text = _DICT_ITEM.sub(_dict_item, text)
    return _GLUED_ITEM.sub(_glued_item, text)


def shown(option: str, value: object) -> object:
    """``value`` as it may be shown for ``option``: masked by the option's name or by its shape.

    Lists, tuples and dicts are masked item by item (a dict by its keys' names too).
    """
    if is_secret(option):
        return MASK
    if isinstance(value, str):
        return _credentials(value) if is_credential(option) else redact_text(value)
    if isinstance(value, (list, tuple)):
        return type(value)(shown(option, item) for item in value)
    if isinstance(value, dict):
        # {user: password} for a credential option; otherwise each key names its value.
        by_key = not is_credential(option)
        return {key: shown(str(key) if by_key else option, item) for key, item in value.items()}
    return value


def _redact_flag(token: str) -> tuple[str, bool]:
    """One argv item that starts with a flag, and whether the item after it is its value."""
    glued = re.match(r"(-[^\s=]+)(\s+)(.*)", token, re.DOTALL)
    if glued:  # "--flag value" in one item
        flag, space, value = glued.groups()
        return f"{flag}{space}{shown(flag, value)}", False
    flag, equals, value = token.partition("=")
    if equals:
        return f"{flag}={shown(flag, value)}", False
    return token, is_secret(flag) or is_credential(flag)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with secret values masked: after a secret flag (``--a=b``, ``--a b`` and
    ``"--a b"`` in one item), and wherever a value's shape shows a secret."""
    redacted: list[str] = []
    value_of: str | None = None
    for token in argv:
        if value_of is not None and not token.startswith("-"):
            redacted.append(str(shown(value_of, token)))
            value_of = None
            continue
        value_of = None
        if token.startswith("-"):
            shown_flag, takes_next = _redact_flag(token)
            value_of = token if takes_next else None
            redacted.append(shown_flag)
        else:
            redacted.append(redact_text(token))
    return redacted
