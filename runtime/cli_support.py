"""Runs a click command so that every failure is one line on stderr and an exit code, never a traceback."""

import sys

import click

USAGE_ERROR = 2


class CommandError(click.ClickException):
    """A failure the user can fix (a bad file, an occupied folder): one line, exit code 2."""

    exit_code = USAGE_ERROR


def run_command(command, expected_errors=(), args=None, prog_name=None):
    """Invoke `command`; usage errors and `expected_errors` print `error: ...` and exit 2."""
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as done:  # --help, --version
        sys.exit(done.exit_code)
    except click.ClickException as error:
        _fail(error.format_message(), error.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", 130)
    except expected_errors as error:
        _fail(str(error), USAGE_ERROR)
    except BrokenPipeError:  # `digitgen --out - | head`: the reader left; nothing to report
        sys.stderr.close()
        sys.exit(1)


def _fail(message, code):
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    click.echo(f"error: {first_line}", err=True)
    sys.exit(code)
