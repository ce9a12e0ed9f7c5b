"""System checks for ``PRODUCTION_PROCESSES``, built on the same validation as the command.

They return messages and never raise: a broken setting must not stop ``manage.py check`` from
reporting the rest.
"""

from __future__ import annotations

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
