"""Errors that blapose reports to users as one line, without a traceback."""


class InputError(ValueError):
    """A user-supplied file, flag or array is wrong; the message names what and where."""
