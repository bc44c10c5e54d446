"""Stopping a training run cleanly: Ctrl-C and `kill` both end it between checkpoint writes."""

import contextlib
import signal
import threading

from digitgen.cli_support import CommandError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(CommandError):
    """A training command stopped by Ctrl-C or SIGTERM: its one line says how to continue."""

    exit_code = 130  # the shell's code for Ctrl-C


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM (kill, a job scheduler) stops training as Ctrl-C does.

    Without this, SIGTERM kills the process wherever it is, possibly mid-way through writing a
    checkpoint; as a KeyboardInterrupt it is deferred past checkpoint writes like Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_deferred():
    """Hold SIGINT and SIGTERM for the duration of the block, then deliver one as KeyboardInterrupt.

    A signal the process ignores (SIGINT in a `nohup ... &` job) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {}
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received:
        raise KeyboardInterrupt


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
