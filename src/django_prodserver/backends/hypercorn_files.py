"""The files a Hypercorn configuration names, checked before Hypercorn starts.

Hypercorn reads its TLS certificate and its log configuration in each worker process: a wrong
key, a missing CA file or a log configuration that does not parse kills every worker with a
traceback, and Hypercorn then exits. Here each is read the way Hypercorn will read it, and a
problem is one line naming the option.
"""

from __future__ import annotations

import ssl

from hypercorn.config import Config

from .log_config import log_config_problem
from .options import ArgsErrors
from .preflight import certificate_problem

#: Hypercorn's log configuration prefixes, and the format each names; no prefix: ``fileConfig``.
LOG_CONFIG_FORMATS = {"json:": "json", "toml:": "toml"}


def check_hypercorn_files(errors: ArgsErrors, config: Config) -> None:
    """Raise one ``InvalidBackendArgs`` line for the first file ``config`` cannot use."""
    check_tls(errors, config)
    if config.logconfig is not None:
        path, file_format = config.logconfig, "ini"
        for prefix, prefixed_format in LOG_CONFIG_FORMATS.items():
            if path.startswith(prefix):
                path, file_format = path[len(prefix) :], prefixed_format
        problem = log_config_problem(path, file_format)
        if problem:
            raise errors.invalid_value(["--log-config"], problem)


def check_tls(errors: ArgsErrors, config: Config) -> None:
    """The certificate, its key and the CA file, loaded as Hypercorn's workers load them."""
    if bool(config.certfile) != bool(config.keyfile):
        given, missing = ("certfile", "keyfile") if config.certfile else ("keyfile", "certfile")
        raise errors.invalid_value(
            [f"--{given}"],
            f"HTTPS needs '{missing}' too, and Hypercorn serves plain HTTP without it; set "
            f"'{missing}', or remove '{given}'",
        )
    if config.certfile is None or config.keyfile is None:
        return
    problem = certificate_problem(config.certfile, config.keyfile, config.keyfile_password)
    if problem:
        raise errors.invalid_value(["--keyfile"], problem)
    try:
        config.create_ssl_context()
    except (ssl.SSLError, OSError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        if config.ca_certs is not None and _ca_certs_problem(config.ca_certs):
            raise errors.invalid_value(
                ["--ca-certs"], f"the CA file {config.ca_certs!r} cannot be loaded: {reason}"
            ) from e
        raise errors.invalid_value(["--ciphers"], f"Hypercorn's TLS settings fail: {reason}") from e


def _ca_certs_problem(path: str) -> bool:
    try:
        ssl.create_default_context().load_verify_locations(path)
    except (ssl.SSLError, OSError):
        return True
    return False
