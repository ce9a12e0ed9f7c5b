"""ARGS to Granian's command line, and Granian's parsed command line to ``Granian()`` arguments.

A dict ARGS is checked key by key against the installed Granian's options (with 3.0's synonyms
and the 1.x/2.x renames of ``versions``), then turned into argv by the rule every backend shares
(``base.args_to_argv``). Granian's own click command parses that argv, so types, ranges, choices
and file checks are the installed version's; its callback, which would serve, never runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

import click
from click.core import ParameterSource
from granian.cli import cli as granian_cli
from granian.http import HTTP1Settings, HTTP2Settings

from ...exceptions import or_list
from ...option_names import option_name
from ...redact import shown
from ..base import BaseProcessBackend, args_to_argv
from ..options import ArgsOption
from .versions import (
    GRANIAN_PARAMETERS,
    GRANIAN_VERSION,
    UPSTREAM_SYNONYMS,
    Rename,
    missing_option_message,
    renames_for,
)

APP_PLACEHOLDER = "django-application"  # the target comes from settings, not from ARGS

# Command-line parameters whose constructor keyword is named differently.
KWARG_NAMES = {
    "host": "address",
    "ssl_certificate": "ssl_cert",
    "ssl_keyfile": "ssl_key",
    "ssl_keyfile_password": "ssl_key_password",
    "log_access_enabled": "log_access",
    "log_access_fmt": "log_access_format",
    "log_config": "log_dictconfig",
}
# The --http1-*/--http2-* options are fields of one settings object each.
HTTP_SETTINGS: dict[str, type[Any]] = {"http1_": HTTP1Settings, "http2_": HTTP2Settings}
HTTP_FIELD_NAMES = {"http1_buffer_size": "max_buffer_size"}

#: Where a dict ARGS set each Granian parameter: click parameter name -> the key and its value.
Origins = dict[str, ArgsOption]


class CliOption(NamedTuple):
    """One long name of a Granian command-line option."""

    param: click.Option
    negated: bool  # the name is the --no-... form of a switch


class MappedArgs(NamedTuple):
    argv: list[str]
    origins: Origins


def cli_options(command: click.Command) -> dict[str, CliOption]:
    """Every long option name of ``command`` (without dashes), with its parameter."""
    options: dict[str, CliOption] = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.expose_value:
            for opt in param.opts:
                options[opt.lstrip("-")] = CliOption(param, negated=False)
            for opt in param.secondary_opts:
                options[opt.lstrip("-")] = CliOption(param, negated=True)
    return options


def origin_key(origins: Origins, param_name: str, flag: str) -> str:
    """How a message names the setting of ``param_name``: its ARGS key, or else its flag."""
    origin = origins.get(param_name)
    return origin.name if origin else flag


def map_args(backend: BaseProcessBackend, args: Mapping[Any, Any]) -> MappedArgs:
    """A dict ARGS as Granian argv, each key checked against the installed Granian's options."""
    options = cli_options(granian_cli)
    renames = renames_for(options)
    normalized: dict[str, Any] = {}  # Granian's flag -> a value the shared ARGS rule takes
    # A switch without a --no- form is left out for False, as by every backend.
    negations = {
        option.param.opts[0]: option.param.secondary_opts[0]
        for option in options.values()
        if option.param.secondary_opts
    }
    origins: Origins = {}
    for key, value in args.items():
        if not isinstance(key, str) or not key.strip("-"):
            raise backend.error(f"ARGS has the key {key!r}; keys must be option names.")
        name = option_name(key)
        name = UPSTREAM_SYNONYMS.get(name, name)
        rename = renames.get(name, Rename(name, None))
        option = options.get(rename.option)
        if option is None and name == "static":
            raise backend.error(
                f"ARGS[{key!r}] is not a Granian option: to serve Django's static files, "
                f"set 'STATIC': True in the process's entry, beside 'ARGS'."
            )
        if option is None:
            message = missing_option_message(name, list(options), GRANIAN_VERSION)
            raise backend.error(f"ARGS[{key!r}] {message}")
        param = option.param
        if str(param.name) in origins:
            first = origins[str(param.name)].name
            raise backend.error(
                f"ARGS[{first!r}] and ARGS[{key!r}] set the same Granian option "
                f"{param.opts[0]}; keep one."
            )
        origins[str(param.name)] = ArgsOption(key, value, True)
        if param.is_flag:
            normalized[param.opts[0]] = _switch(backend, key, value) != option.negated
        elif value is not None:  # None leaves the option at Granian's default
            normalized[param.opts[0]] = _value_texts(backend, key, value, param, rename.values)
    argv = args_to_argv(normalized, backend.process_name, negations.get)
    return MappedArgs(argv, origins)


def _switch(backend: BaseProcessBackend, key: str, value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return value is not False  # None gives the bare flag, as for every backend
    if isinstance(value, str):
        try:
            return bool(click.BOOL.convert(value, None, None))
        except click.BadParameter:
            pass
    raise backend.error(
        f"ARGS[{key!r}] is {shown(key, value)!r}; a switch takes True or False "
        f"(or the strings 'true', 'false', 'yes', 'no', 'on', 'off', '1', '0')."
    )


def _value_texts(
    backend: BaseProcessBackend,
    key: str,
    value: Any,
    param: click.Option,
    values: Mapping[str, str] | None,
) -> list[str]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) != 1 and not param.multiple:
        raise backend.error(
            f"ARGS[{key!r}] is {shown(key, value)!r}; this option takes one value, not a list."
        )
    return [_value_text(backend, key, item, values) for item in items]


def _value_text(
    backend: BaseProcessBackend, key: str, value: Any, values: Mapping[str, str] | None
) -> str:
    if isinstance(value, bool):
        raise backend.error(
            f"ARGS[{key!r}] is {shown(key, value)!r}; this option takes a value, not True or False."
        )
    if not isinstance(value, (str, int, float, os.PathLike)):
        raise backend.error(
            f"ARGS[{key!r}] holds {shown(key, value)!r} ({type(value).__name__}); a value "
            f"must be a string, a number or a path, or a list of those for an option that "
            f"repeats."
        )
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if values is None:
        return text
    if text not in values:
        raise backend.error(f"ARGS[{key!r}] is {value!r}; accepted: {or_list(sorted(values))}.")
    return values[text]


def parse(backend: BaseProcessBackend, argv: Sequence[str], origins: Origins) -> dict[str, Any]:
    """The options ``argv`` sets, parsed by Granian's own command line, by parameter name."""
    for token in argv:
        if token in ("--help", "--version"):
            raise backend.error(f"ARGS cannot contain {token}: it would print and exit.")
    try:
        ctx = granian_cli.make_context("granian", [APP_PLACEHOLDER, *argv])
    except click.NoSuchOption as e:
        message = missing_option_message(
            e.option_name.lstrip("-"), list(cli_options(granian_cli)), GRANIAN_VERSION
        )
        raise backend.error(f"ARGS option {e.option_name!r} {message}") from e
    except click.BadParameter as e:
        raise backend.error(f"{_named(e.param, origins)}: {e.message}") from e
    except click.ClickException as e:
        message = e.format_message().replace(APP_PLACEHOLDER, "the application")
        raise backend.error(f"Granian {GRANIAN_VERSION} rejects ARGS: {message}") from e
    return {
        name: _plain(value)
        for name, value in ctx.params.items()
        if name != "app" and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }


def _plain(value: Any) -> Any:
    # Granian's constructor takes its enums' plain values, which also read better in --dry-run.
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):  # a repeatable option
        return list(value)
    return value


def _named(param: click.Parameter | None, origins: Origins) -> str:
    # How an error names the setting that caused it: the ARGS key with its value, or the
    # option as written in a string or list ARGS.
    origin = origins.get(str(param.name)) if param else None
    if origin:
        value = shown(origin.name, origin.value)
        return f"ARGS[{origin.name!r}] is {value!r}, which Granian {GRANIAN_VERSION} rejects"
    flag = param.opts[0] if param else "?"
    return f"ARGS option {flag!r} is rejected by Granian {GRANIAN_VERSION}"


def constructor_kwargs(
    backend: BaseProcessBackend, given: dict[str, Any], origins: Origins
) -> dict[str, Any]:
    """The ``Granian()`` keyword arguments for the parsed options ``given``."""
    kwargs: dict[str, Any] = {}
    http_fields: dict[str, dict[str, Any]] = {prefix: {} for prefix in HTTP_SETTINGS}
    for name, value in given.items():
        prefix = name[:6]
        if prefix in HTTP_SETTINGS:
            http_fields[prefix][HTTP_FIELD_NAMES.get(name, name[6:])] = value
        elif name == "log_config":
            kwargs["log_dictconfig"] = _log_dictconfig(backend, value, origins)
        else:
            kwargs[KWARG_NAMES.get(name, name)] = value
    for prefix, fields in http_fields.items():
        if fields:
            kwargs[prefix + "settings"] = _http_settings(backend, HTTP_SETTINGS[prefix], fields)
    for keyword in kwargs:
        if keyword not in GRANIAN_PARAMETERS:
            raise backend.error(
                f"Granian {GRANIAN_VERSION} has a command-line option for {keyword!r} but "
                f"no such argument to Granian(); remove it from ARGS."
            )
    return kwargs


def _http_settings(
    backend: BaseProcessBackend, settings_class: type[Any], fields: dict[str, Any]
) -> Any:
    known = {field.name for field in dataclasses.fields(settings_class)}
    for name in fields:
        if name not in known:
            raise backend.error(
                f"Granian {GRANIAN_VERSION} has a command-line option for {name!r} but "
                f"{settings_class.__name__} has no such field; remove it from ARGS."
            )
    return settings_class(**fields)


def _log_dictconfig(backend: BaseProcessBackend, path: Path, origins: Origins) -> Any:
    key = origin_key(origins, "log_config", "--log-config")
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise backend.error(f"ARGS[{key!r}]: {str(path)!r} is not a JSON file: {e}.") from e
    if not isinstance(config, dict):
        raise backend.error(
            f"ARGS[{key!r}]: {str(path)!r} must hold a JSON object (a logging dictConfig)."
        )
    return config
