"""The entry's ``STATIC``: Granian's static-path options for Django's STATIC_URL and STATIC_ROOT."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from ..base import BaseProcessBackend
from . import versions


def static_argv(backend: BaseProcessBackend) -> list[str]:
    """Granian's static-file options for Django's STATIC_URL and STATIC_ROOT, when STATIC."""
    static = backend.entry.get("STATIC", False)
    if not isinstance(static, bool):
        raise backend.error(f"STATIC must be True or False, not {static!r}.")
    if not static:
        return []
    if not versions.SERVES_STATIC_FILES:
        raise backend.error(
            f"STATIC needs Granian 2.3 or later; {versions.GRANIAN_VERSION} is installed. Upgrade "
            f"Granian, or serve static files with WhiteNoise or a proxy."
        )
    return [
        f"--static-path-route={_static_route(backend)}",
        f"--static-path-mount={_static_root(backend)}",
    ]


def _static_route(backend: BaseProcessBackend) -> str:
    url = str(getattr(settings, "STATIC_URL", "") or "")
    path = url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
    if "://" in url or url.startswith("//") or not path.strip("/"):
        raise backend.error(
            f"STATIC serves STATIC_URL from this server, but STATIC_URL is {url!r}. Set it "
            f"to a path such as 'static/', or drop STATIC when a CDN serves the files."
        )
    return "/" + path.strip("/")


def _static_root(backend: BaseProcessBackend) -> Path:
    root = getattr(settings, "STATIC_ROOT", None)
    if not root:
        raise backend.error(
            "STATIC serves the files 'manage.py collectstatic' gathers in STATIC_ROOT, but "
            "STATIC_ROOT is not set. Set it, such as BASE_DIR / 'staticfiles', and run "
            "collectstatic."
        )
    path = Path(root)
    if not path.is_dir() or not any(path.iterdir()):
        raise backend.error(
            f"STATIC serves STATIC_ROOT, but {str(path)!r} is empty or missing. Run "
            f"'manage.py collectstatic' before starting the server."
        )
    return path
