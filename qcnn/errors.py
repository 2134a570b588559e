"""Failures a user can cause or fix, and the parameter checks that raise them.

A ``UserError`` is a bad parameter, a missing or damaged file, a run that left the floats, a
run another process holds: the command line prints it as one line (``qcnn --traceback`` shows
the traceback too). Each class is also the built-in exception of its kind, so code that
catches ``ValueError`` or ``FileNotFoundError`` keeps working. Every other exception (a shape
error in torch, an out-of-memory error, a bug) is not a ``UserError`` and keeps its traceback.
"""
import math
import numbers


class UserError(Exception):
    """A failure the user can cause or fix; its message says what to do."""


class InvalidInput(UserError, ValueError):
    """A parameter out of its range, or a file whose contents are not what they must be."""


class NotStored(UserError, FileNotFoundError):
    """A run, analysis or data file that is not there yet; the message says how to make it."""


class NonFinite(UserError, FloatingPointError):
    """Training left the floats; nothing is stored as finished."""


class Busy(UserError, RuntimeError):
    """Another live process holds what was asked for (a run being trained)."""


def check_int(name, value, low=None, high=None):
    """``value`` as a Python int if it is an integer (not a bool; numpy's integers count) in
    [low, high] (either end open when None), else InvalidInput naming ``name`` and the range."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or (low is not None and value < low) or (high is not None and value > high)):
        allowed = (f"in [{low}, {high}]" if low is not None and high is not None else
                   f">= {low}" if low is not None else f"<= {high}" if high is not None else "")
        raise InvalidInput(f"{name} must be an integer {allowed}".rstrip() + f", got {value!r}")
    return int(value)


def check_number(name, value, low, high, low_open=False):
    """``value`` as a float if it is a finite real number (not a bool) in [low, high] (or
    (low, high] with ``low_open``), else InvalidInput naming ``name`` and the interval. -0.0
    comes back as 0.0 (one value, one run id)."""
    interval = f"{'(' if low_open else '['}{low}, {high}]"
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not low <= value <= high or (low_open and value == low)):
        raise InvalidInput(f"{name} must be a finite number in {interval}, got {value!r}")
    return float(value) + 0.0


def check_choice(name, value, allowed):
    """``value`` if it is one of ``allowed``, else InvalidInput naming ``name`` and them."""
    if value not in tuple(allowed):
        raise InvalidInput(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value
