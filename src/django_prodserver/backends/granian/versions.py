"""The installed Granian, and what differs between the Granian releases this package supports.

Everything here is a fact about a Granian release: what the installed one is and takes, which
options later releases added, how 1.x and 2.x spell the same option, and which options need a
package of their own. The mapping of ARGS (``options``) and the checks (``checks``) read it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from typing import NamedTuple

# Imported first on purpose: without Granian this import fails, and the registry turns that into
# 'pip install "django-prodserver[granian]"'. Before Granian's own dependencies (click), so that
# the message names Granian.
from granian import Granian
from granian import __version__ as granian_version

from ...exceptions import or_list

GRANIAN_VERSION: str = granian_version  # not importlib.metadata: that scans sys.path again
GRANIAN_PARAMETERS = inspect.signature(Granian.__init__).parameters
GRANIAN_RELEASE = tuple(int(part) for part in GRANIAN_VERSION.split(".")[:2] if part.isdigit())

# Granian 2.x refuses more than one blocking thread outside WSGI (ConfigurationError in serve()).
SINGLE_BLOCKING_THREAD_OUTSIDE_WSGI = "runtime_threads" in GRANIAN_PARAMETERS

# Granian 2.3 added serving static files from a route.
SERVES_STATIC_FILES = "static_path_route" in GRANIAN_PARAMETERS

# django-prodserver 3.0's ARGS keys for Granian (dashed), accepted as synonyms of Granian's own
# option names; `manage.py check` asks for the current spelling.
UPSTREAM_SYNONYMS = {
    "address": "host",
    "websockets": "ws",
    "log-access": "access-log",
    "ssl-cert": "ssl-certificate",
    "ssl-key": "ssl-keyfile",
}

# Options of later Granian releases: the version that added each, and what to use before it.
NEWER_OPTIONS: dict[str, tuple[str, str]] = {
    "blocking-threads-idle-timeout": ("2.0", ""),
    "runtime-blocking-threads": ("2.0", ""),
    "http1-header-read-timeout": ("2.0", ""),
    "reload-tick": ("2.2", ""),
    "reload-ignore-worker-failure": ("2.2", ""),
    "ssl-ca": ("2.3", ""),
    "ssl-crl": ("2.3", ""),
    "ssl-client-verify": ("2.3", ""),
    "static-path-route": ("2.3", "serve static files with WhiteNoise or a proxy"),
    "static-path-mount": ("2.3", "serve static files with WhiteNoise or a proxy"),
    "static-path-expires": ("2.3", "serve static files with WhiteNoise or a proxy"),
    "working-dir": ("2.4", "use manage.py's --pythonpath"),
    "env-files": ("2.4", "load the file in settings.py"),
    "uds": ("2.5", ""),
    "workers-max-rss": ("2.5", "use 'workers-lifetime' to recycle workers by age"),
    "rss-sample-interval": ("2.5", ""),
    "uds-permissions": ("2.6", ""),
    "ssl-protocol-min": ("2.6", ""),
    "rss-samples": ("2.6", ""),
    "static-path-dir-to-file": ("2.7", ""),
    "metrics": ("2.7", ""),
    "metrics-scrape-interval": ("2.7", ""),
    "metrics-address": ("2.7", ""),
    "metrics-port": ("2.7", ""),
}

# Optional packages Granian needs for some options: option keyword -> (module, install hint).
OPTIONAL_PACKAGES = {
    "reload": ("watchfiles", 'pip install "django-prodserver[granian-reload]"'),
    "process_name": ("setproctitle", 'pip install "granian[pname]"'),
    "env_files": ("dotenv", 'pip install "granian[dotenv]"'),
}

# Event loops that come from a package of their own: the loop's name is the module's.
LOOP_PACKAGES = {
    "uvloop": 'pip install "granian[uvloop]"',
    "rloop": 'pip install "granian[rloop]"',
    "winloop": 'pip install "granian[winloop]"',
}

# Granian 2.8's workers cannot read a password-protected key: every "ENCRYPTED PRIVATE KEY"
# that Python's ssl loads (PBES2 with PBKDF2 or scrypt, AES or 3DES, PBES1) ends each worker
# with "Invalid key: Asn1(...)" (observed on 2.8.0 and 2.8.9); 1.7.6 and 2.7.8 serve them.
READS_ENCRYPTED_KEYS = GRANIAN_RELEASE < (2, 8)


class Rename(NamedTuple):
    """A name that the installed Granian spells differently."""

    option: str
    values: Mapping[str, str] | None  # value translations, None to keep values as given


def renames_for(options: Mapping[str, object]) -> dict[str, Rename]:
    """Names that work on Granian 1.x and 2.x alike, mapped to what ``options`` calls them."""
    # "threads" means blocking threads per worker on every version, although Granian 1.x's
    # own --threads meant runtime threads.
    renames = {"threads": Rename("blocking-threads", None)}
    if "runtime-mode" in options and "threading-mode" not in options:  # Granian 2.x
        renames["threading-mode"] = Rename("runtime-mode", {"workers": "st", "runtime": "mt"})
    if "threading-mode" in options and "runtime-mode" not in options:  # Granian 1.x
        renames["runtime-mode"] = Rename("threading-mode", {"st": "workers", "mt": "runtime"})
        renames["runtime-threads"] = Rename("threads", None)
    return renames


def missing_option_message(name: str, options: Sequence[str], version: str) -> str:
    """Why ``name`` is not an option of Granian ``version``, which has ``options``.

    The suggestion is the option meant: a close 3.0 synonym ("adress") suggests its option.
    """
    base_name = name[3:] if name.startswith("no-") else name
    if base_name in NEWER_OPTIONS:
        added, instead = NEWER_OPTIONS[base_name]
        alternative = f", or {instead}" if instead else ", or remove it"
        return (
            f"needs Granian {added} or later; {version} is installed. Upgrade Granian{alternative}."
        )
    candidates = [
        *options,
        *(key for key, option in UPSTREAM_SYNONYMS.items() if option in options),
    ]
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    close = list(dict.fromkeys(UPSTREAM_SYNONYMS.get(option, option) for option in close))
    if close:
        return f"is not an option of Granian {version}. Did you mean {or_list(close)}?"
    return f"is not an option of Granian {version}. `granian --help` lists its options."
