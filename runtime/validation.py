"""The checks every surface (the Python API, the CLI, the server) applies to integers and to a
number to write, written once: each raises ValueError with the message the user sees."""

import numbers

from digitgen.messages import quote

MAX_NUMBER_LENGTH = 64  # digits in one number: one row of a PNG


def check_integer(value, name, low=0, high=None):
    """value as an int in [low, high], or ValueError. A bool is refused: True is not a count."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high):
        wanted = (f"an integer from {low} to {high}" if high is not None else
                  "a positive integer" if low == 1 else "a non-negative integer" if low == 0
                  else f"an integer of at least {low}")
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def integer_from_text(text, name, low, high):
    """A decimal integer from a client's text, in [low, high]; its length is checked before int()
    converts it, so a 5,000-digit value costs nothing and meets no interpreter limit."""
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > len(str(high)):
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {quote(text)}")
    return check_integer(int(text), name, low, high)


def check_number(text):
    """A number to write, as a string of the digits 0-9 ("2026"), or ValueError."""
    if not isinstance(text, str) or not text or not text.isascii() or not text.isdigit():
        shown = quote(text) if isinstance(text, str) else repr(text)
        raise ValueError(f"a number is a string of the digits 0-9 (e.g. 2026), got {shown}")
    if len(text) > MAX_NUMBER_LENGTH:
        raise ValueError(f"a number has at most {MAX_NUMBER_LENGTH} digits, got {len(text):,}")
    return text
