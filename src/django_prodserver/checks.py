"""System checks for ``PRODUCTION_PROCESSES``, built on the same validation as the command.

They return messages and never raise: a broken setting must not stop ``manage.py check`` from
reporting the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks

from . import conf
from .exceptions import ProdserverError


def _message(error: ProdserverError) -> checks.CheckMessage:
    level = checks.Error if error.is_error else checks.Warning
    return level(error.message, id=error.check_id)


@checks.register("prodserver")
def check_production_processes(**kwargs: Any) -> list[checks.CheckMessage]:
    if not hasattr(settings, conf.SETTING):
        return []  # the app is installed but not used yet: nothing to check
    try:
        processes = conf.processes_setting()
    except ProdserverError as e:
        return [_message(e)]
    messages = []
    for name, entry in processes.items():
        try:
            conf.prepare(conf.validate_entry(name, entry))
        except ProdserverError as e:
            messages.append(_message(e))
    return messages


_OFF = {"false", "0", "no", "off"}


@checks.register("prodserver", deploy=True)
def check_development_options(**kwargs: Any) -> list[checks.CheckMessage]:
    try:
        processes = conf.processes_setting() if hasattr(settings, conf.SETTING) else {}
    except ProdserverError:
        return []  # reported by check_production_processes
    messages: list[checks.CheckMessage] = []
    for name, entry in processes.items():
        try:
            backend = conf.load_backend(conf.validate_entry(name, entry))
        except ProdserverError:
            continue  # reported by check_production_processes
        if not isinstance(backend.args, Mapping):
            continue
        for key, value in backend.args.items():
            option = str(key).lstrip("-").replace("_", "-")
            enabled = value is not False and str(value).lower() not in _OFF
            if option in backend.development_options and enabled:
                messages.append(
                    checks.Warning(
                        f"Process {name!r}: ARGS[{key!r}] is a development option: it costs "
                        f"resources and restarts the server whenever a file changes.",
                        hint=f"Remove {key!r} from the ARGS that production uses.",
                        id="prodserver.W003",
                    )
                )
    return messages


@checks.register("prodserver", deploy=True)
def check_debug_in_production(**kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG and hasattr(settings, conf.SETTING):
        return [
            checks.Warning(
                "DEBUG is True while PRODUCTION_PROCESSES is set: production processes would "
                "serve debug pages and keep every SQL query in memory.",
                hint="Set DEBUG = False in the settings your production processes use.",
                id="prodserver.W002",
            )
        ]
    return []
