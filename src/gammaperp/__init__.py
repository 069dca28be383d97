"""gammaperp: backtest, stress and paper-trade delta hedging and gamma scalping with perps.

Layers (see docs/architecture.md): data -> market -> engine -> strategies -> results ->
analytics/report -> research and live.

>>> import gammaperp
>>> result = gammaperp.run("examples/long_gamma_synthetic.toml")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gammaperp._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from gammaperp.api import run

__all__ = ["__version__", "run"]


def __getattr__(name: str) -> Any:
    # ``gammaperp.run`` is imported lazily so ``import gammaperp`` stays fast (no numba).
    if name == "run":
        from gammaperp.api import run

        return run
    raise AttributeError(f"module 'gammaperp' has no attribute {name!r}")
