"""Runs a click command so that every failure is one line on stderr and an exit code, never a traceback."""

import signal
import sys

import click

from digitgen.messages import first_line

USAGE_ERROR = 2
# Every command's click settings: -h as well as --help, and help text as wide as 100 columns.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CommandError(click.ClickException):
    """A failure the user can fix (a bad file, an occupied folder): one line, exit code 2."""

    exit_code = USAGE_ERROR


class Interrupted(Exception):
    """Ctrl-C, raised in place of KeyboardInterrupt, which click would answer with an empty line."""


def _interrupt(signum, frame):
    raise Interrupted


def run_command(command, expected_errors=(), args=None, prog_name=None, own_interrupts=False):
    """Invoke `command`; usage errors and `expected_errors` print `error: ...` and exit 2.

    own_interrupts: Ctrl-C ends in the one line "error: interrupted", exit 130 (for commands that
    do not handle KeyboardInterrupt themselves; a SIGINT the process ignores stays ignored).
    """
    if own_interrupts and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except Interrupted:
        _fail("interrupted", 130)
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
    click.echo(f"error: {first_line(message, limit=1000)}", err=True)
    sys.exit(code)
