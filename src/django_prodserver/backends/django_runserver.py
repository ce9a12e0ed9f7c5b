"""Django's development server: ``manage.py runserver``, started by ``manage.py devserver NAME``.

The ``runserver`` that ``manage.py`` would run (``django.contrib.staticfiles``' when installed)
runs in this process, with the options ``ARGS`` gives (``addrport``, ``noreload``,
``nothreading``, ``ipv6``, ``nostatic``, ``insecure``, ``skip_checks``).
"""

from __future__ import annotations

from ._runserver import RunserverCommandBackend


class DjangoRunserver(RunserverCommandBackend):
    """``manage.py runserver``, configured in ``PRODUCTION_PROCESSES``."""

    program = "runserver"
    command_name = "runserver"
