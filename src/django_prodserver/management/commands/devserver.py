"""``manage.py devserver``: another name for ``runserver``, kept for users of the older package.

It subclasses whichever ``runserver`` the project has active, so ``django.contrib.staticfiles``
(or any app that overrides ``runserver``) keeps working under this name too.
"""

from __future__ import annotations

from django.core.management import get_commands, load_command_class


def _active_runserver() -> type:
    app_name = get_commands()["runserver"]
    command = load_command_class(app_name, "runserver")
    return type(command)


class Command(_active_runserver()):  # type: ignore[misc]
    help = "Start Django's development server (the same as runserver)."
