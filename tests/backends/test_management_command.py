"""The shared base of the management-command workers (backends/_management_command.py), through
a command with an append option."""

from __future__ import annotations

from typing import Any, ClassVar
from unittest import mock

import pytest
from django.core.management.base import CommandError

from django_prodserver.backends._management_command import DjangoCommandWorker
from django_prodserver.exceptions import InvalidBackendArgs


class DumpdataWorker(DjangoCommandWorker):
    """Not a worker, but dumpdata's ``--exclude`` is an append option, which no worker has."""

    command_name: ClassVar[str] = "dumpdata"


class MissingCommandWorker(DjangoCommandWorker):
    command_name: ClassVar[str] = "no_such_command"


def backend(args: Any, cls: type[DjangoCommandWorker] = DumpdataWorker) -> DjangoCommandWorker:
    return cls(alias="dump", process_name="dump", BACKEND="dump", ARGS=args)


def checked_argv(worker: DjangoCommandWorker) -> list[str]:
    argv = worker.prep_server_args()
    worker.check_args(argv)
    return argv


def error_of(worker: DjangoCommandWorker) -> str:
    with pytest.raises(InvalidBackendArgs) as caught:
        checked_argv(worker)
    return caught.value.message


def test_a_list_for_an_append_option_repeats_it() -> None:
    assert checked_argv(backend({"exclude": ["auth", "contenttypes"]})) == [
        "--exclude=auth",
        "--exclude=contenttypes",
    ]


def test_the_command_is_found_by_its_name() -> None:
    assert backend({}).command_app() == "django.core"


def test_a_command_no_installed_app_provides() -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        backend({}, MissingCommandWorker).command()

    assert caught.value.message == (
        "Process 'dump': there is no management command 'no_such_command': add the app that "
        "provides it to INSTALLED_APPS."
    )


def test_an_option_and_its_value_in_one_item_is_refused() -> None:
    assert error_of(backend(["--indent 2"])) == (
        "Process 'dump': the argument '--indent 2' in ARGS contains a space, but each item of "
        "ARGS is passed as one argument. Write it as separate items, ['--indent', '2'], or as "
        "a dict."
    )


def test_a_value_with_a_space_is_not_refused() -> None:
    assert checked_argv(backend({"output": "/tmp/a file.json"})) == ["--output=/tmp/a file.json"]


def test_an_error_that_names_no_option_rejects_args() -> None:
    worker = backend({"indent": 2})
    with mock.patch.object(
        type(worker.parser()), "parse_known_args", side_effect=CommandError("Error: no good")
    ):
        assert error_of(worker) == "Process 'dump': dumpdata rejects ARGS: no good."


def test_describe_start_masks_secret_values() -> None:
    assert backend({}).describe_start(["--indent=2", "--api-token=x", "--secret", "y"]) == (
        "manage.py dumpdata --indent=2 '--api-token=***' --secret '***'"
    )


def test_the_option_table_is_the_command_s_own() -> None:
    assert {"--exclude", "-e", "--indent", "--help", "--version"} <= backend({}).known_options


def test_an_abbreviation_is_not_the_option_it_abbreviates() -> None:
    # argparse would expand "--inde" to --indent; call_command() would then dump indented.
    assert error_of(backend({"inde": 2})) == (
        "Process 'dump': unknown dumpdata option 'inde' in ARGS. Did you mean 'indent'?"
    )
