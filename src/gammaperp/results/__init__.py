"""Results: ledgers, equity and its components as pandas frames, and run directories."""

from gammaperp.results.result import ASSUMPTIONS, Result

__all__ = ["ASSUMPTIONS", "Result"]
