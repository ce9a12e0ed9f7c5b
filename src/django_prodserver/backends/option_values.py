"""What the backends share about option values: the checks and conversions built on ``options``.

- ``lists_joined`` turns list values into what a program takes: one comma-separated value, or
  the option repeated;
- ``option_seconds`` reads a number of seconds, such as a graceful timeout, from the argv;
- ``check_tls`` checks a server's certificate, key and the options that depend on them;
- ``missing_package`` and ``package_missing`` say that a value needs a package that is not
  installed, with its install hint.

Like ``options``, this module imports no server package; its names are public.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from .base import ArgsSetting, BaseProcessBackend, flag_for
from .options import ArgsErrors
from .preflight import certificate_problem


def option_seconds(argv: Sequence[str], option_strings: Collection[str]) -> float | None:
    """The seconds the last of ``option_strings`` in ``argv`` gives, or None if none is there.

    ``argv`` has passed ``check_args()``: its value is a number the server's parser accepted.
    """
    seconds = None
    for index, token in enumerate(argv):
        flag, equals, value = token.partition("=")
        if flag not in option_strings:
            continue
        following = argv[index + 1 : index + 2]
        seconds = value if equals else (following[0] if following else None)
    return None if seconds is None else float(seconds)


def check_tls(
    errors: ArgsErrors,
    values: Mapping[str, object],
    flags: Callable[[str], Collection[str]],
    given: Callable[[str], bool],
    *,
    certificate: str,
    key: str,
    password: str | None = None,
    dependent: Collection[str] = (),
) -> None:
    """The TLS settings as the server will use them: each of ``dependent`` given without a
    certificate (the server ignores it), a key without a certificate, and the certificate and
    key loaded as the server will load them.

    ``values`` holds the parsed settings by name, ``flags(name)`` a setting's option strings,
    ``given(name)`` whether ARGS set it; ``certificate``, ``key`` and ``password`` name the
    server's settings for the certificate file, the key file and the key's password.
    """
    certificate_file, key_file = values.get(certificate), values.get(key)
    for name in dependent:
        if given(name) and not certificate_file:
            raise errors.invalid_value(
                flags(name), f"{errors.name} ignores it unless {certificate!r} is set"
            )
    if key_file and not certificate_file:
        raise errors.invalid_value(
            flags(key), f"HTTPS needs {certificate!r} too; set it, or remove {key!r}"
        )
    if certificate_file:
        secret = values.get(password) if password else None
        problem = certificate_problem(str(certificate_file), str(key_file or ""), secret)
        if problem:
            raise errors.invalid_value(flags(key if key_file else certificate), problem)


def package_missing(package: str, hint: str | None) -> str:
    """Why an option's value cannot be used: it needs ``package``, which is not installed."""
    fix = f"Install it with: {hint}" if hint else "Install the package that provides it."
    return f"it needs the {package!r} package, which is not installed. {fix}"


def missing_module(error: BaseException) -> str | None:
    """The top-level module whose absence caused ``error``, following its causes, or None."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            return seen.name.partition(".")[0]
        seen = seen.__cause__ or seen.__context__
    return None


def missing_package(error: BaseException, install_hints: Mapping[str, str]) -> str | None:
    """Why a value cannot be used when ``error`` comes from one of the packages
    ``install_hints`` names (package -> how to install it) being missing; None otherwise."""
    package = missing_module(error)
    if package is None or package not in install_hints:
        return None
    return package_missing(package, install_hints[package])


def lists_joined(
    backend: BaseProcessBackend,
    name: str,
    comma_separated: Callable[[str], bool],
    repeatable: Callable[[str], bool],
) -> ArgsSetting:
    """``ARGS`` with each list value made what the program takes for its option.

    An option that takes several values as one comma-separated argument (``comma_separated``)
    gets them joined: repeated, it would keep only the last. An option ``repeatable`` keeps the
    list, which repeats it. Two or more values for any other option are refused.
    ``repeatable`` must be true of an option the program does not know: ``check_args`` reports
    it.
    """
    if not isinstance(backend.args_setting, Mapping):
        return backend.args_setting
    joined = dict(backend.args_setting)
    for key, value in joined.items():
        if not (isinstance(key, str) and isinstance(value, (list, tuple))):
            continue
        flag = flag_for(key)
        if comma_separated(flag):
            joined[key] = ",".join(str(item) for item in value)
        elif len(value) > 1 and not repeatable(flag):
            raise ArgsErrors(backend, [], name, ()).invalid_value(
                [flag], "it takes one value, and repeating it would keep only the last"
            )
    return joined
