"""The shared base of the management-command workers, through a command with an append option,
and the helpers that trace a parser's complaint back to ARGS."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from django_prodserver.backends._command_line import DjangoCommandWorker, describe_source
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
    with pytest.raises(InvalidBackendArgs) as caught:
        checked_argv(backend(["--indent 2"]))

    assert caught.value.message == (
        "Process 'dump': the argument '--indent 2' in ARGS contains a space, but each item of "
        "ARGS is passed as one argument. Write it as separate items, ['--indent', '2'], or as "
        "a dict."
    )


def test_a_value_with_a_space_is_not_refused() -> None:
    assert checked_argv(backend({"output": "/tmp/a file.json"})) == ["--output=/tmp/a file.json"]


def test_the_source_is_the_dict_key_that_sets_the_flag() -> None:
    args = {1: "odd", "indent": 2, "format": "json"}

    assert describe_source(args, ["--indent=2", "--format=json"], {"--format"}) == (
        "ARGS['format'] = 'json'"
    )


def test_the_source_of_a_flag_that_args_does_not_set_is_none() -> None:
    assert describe_source(["--indent=2"], ["--indent=2"], {"--format"}) is None
