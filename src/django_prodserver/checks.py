"""System checks for ``PRODUCTION_PROCESSES``, built on the same validation as the command.

They return messages and never raise: a broken setting must not stop ``manage.py check`` from
reporting the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core import checks

from . import conf
from . import processes as processes_
from .exceptions import ProdserverError
from .option_names import option_name

# The processes that `manage.py prodserver` is starting while it runs the checks, if any.
_starting: ContextVar[tuple[str, ...]] = ContextVar("prodserver_starting", default=())


@contextlib.contextmanager
def starting(*processes: str) -> Iterator[None]:
    """Within this block, the other processes' errors are reported as warnings.

    A deploy whose Flower settings are wrong must not stop its web server from starting;
    ``manage.py check`` still fails on them.
    """
    token = _starting.set(processes)
    try:
        yield
    finally:
        _starting.reset(token)


def _message(error: ProdserverError, process: str | None = None) -> checks.CheckMessage:
    started = _starting.get()
    if error.is_error and started and process is not None and process not in started:
        which = (
            f"process {started[0]!r}"
            if len(started) == 1
            else f"processes {', '.join(map(repr, started))}"
        )
        return checks.Warning(
            error.message,
            hint=f"It does not stop {which} from starting; 'manage.py check' reports it as an "
            f"error.",
            id=error.check_id,
        )
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
    handler = processes_.current()
    messages = []
    for name in processes:
        try:
            config, backend, _ = handler[name]
        except ProdserverError as e:
            messages.append(_message(e, name))
            continue
        messages += [
            checks.Warning(text, id="prodserver.W004")
            for text in conf.undeclared_keys(config, backend)
        ]
        messages += [
            checks.Warning(text, id="prodserver.W005") for text in backend.setting_warnings()
        ]
    return messages


_OFF = {"false", "0", "no", "off"}


@checks.register("prodserver", deploy=True)
def check_development_options(**kwargs: Any) -> list[checks.CheckMessage]:
    try:
        processes = conf.processes_setting() if hasattr(settings, conf.SETTING) else {}
    except ProdserverError:
        return []  # reported by check_production_processes
    handler = processes_.current()
    messages: list[checks.CheckMessage] = []
    for name in processes:
        try:
            backend = handler.backend(handler.run_config(name))
        except ProdserverError:
            continue  # reported by check_production_processes
        if not isinstance(backend.args_setting, Mapping):
            continue
        for key, value in backend.args_setting.items():
            option = option_name(str(key))
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
