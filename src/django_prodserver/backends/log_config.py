"""Whether a log configuration file can configure logging, checked before a server starts.

The servers read their log configuration (``--log-config``) in each worker process, or once
serving: a missing file or one that does not parse is a traceback per worker there. The check
here reads and parses the file and configures nothing. Like ``preflight``, this module imports
no server package; its one name is public.
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import Any

from ..exceptions import one_line

#: The sections ``logging.config.fileConfig()`` needs, each with its ``keys``.
_FILE_CONFIG_SECTIONS = ("formatters", "handlers", "loggers")


def log_config_problem(path: str, file_format: str) -> str | None:
    """Why the log configuration file ``path`` cannot configure logging, or None.

    ``file_format``: "json" or "toml" (a ``dictConfig`` dictionary), or "ini" (``fileConfig``).
    The file is read and parsed only: logging is not configured here.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return f"the log configuration {path!r} cannot be read: {e.strerror or e}"
    try:
        if file_format == "ini":
            return _file_config_problem(path, data.decode())
        parsed = json.loads(data) if file_format == "json" else _toml().loads(data.decode())
    except (ValueError, configparser.Error) as e:  # JSON, TOML, UTF-8 and INI errors
        return f"the log configuration {path!r} does not parse: {one_line(e)}"
    if not isinstance(parsed, dict) or "version" not in parsed:
        return (
            f"the log configuration {path!r} is not a logging dictionary: it needs a 'version' "
            f"key (1), as logging.config.dictConfig() takes"
        )
    return None


def _file_config_problem(path: str, text: str) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text, source=path)
    missing = [
        f"[{name}] with 'keys'"
        for name in _FILE_CONFIG_SECTIONS
        if not parser.has_option(name, "keys")
    ]
    if missing:
        return (
            f"the log configuration {path!r} is not a logging configuration file: it needs "
            f"{', '.join(missing)}, as logging.config.fileConfig() takes"
        )
    return None


def _toml() -> Any:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.9 and 3.10: the servers depend on tomli
        import tomli as tomllib
    return tomllib
