"""Exception types shared by every layer.

Every user-facing error names what was wrong: the argument, the config key and file, or the
data file, row and column. The CLI turns any :class:`GammaperpError` (and ``ValueError``) into
one line on stderr and exit code 2.
"""

from __future__ import annotations


class GammaperpError(Exception):
    """Base class of every error gammaperp raises on purpose."""


class ConfigError(GammaperpError, ValueError):
    """An experiment config is invalid: unknown key, wrong type or out-of-range value."""


class DataError(GammaperpError, ValueError):
    """Market data is malformed: bad header, unsorted rows, NaN or non-positive prices..."""


class EngineError(GammaperpError, ValueError):
    """The engine was asked for something impossible (missing instrument, bad order...)."""
