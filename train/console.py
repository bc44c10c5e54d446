"""How training commands write to the console: Keras's progress bar only where a person watches."""

import sys


def fit_verbosity():
    """fit()'s verbose: Keras's progress bar on a terminal; one line an epoch in a log file or a
    pipe, where the bar's escape codes and carriage returns would be noise."""
    return 1 if sys.stdout.isatty() else 2
