"""Strategies: the built-in position templates (compiled, configured by specs) and the Python
protocol for writing new triggers and overlays.

* templates (run inside the numba kernel, :mod:`gammaperp.engine._nb` and
  :mod:`gammaperp.engine._templates_nb`): :class:`StraddleSpec` (long/short gamma: straddles
  and strangles, delta-hedged with hedge triggers), :class:`CarrySpec` (two-venue funding
  carry and cash-and-carry), :class:`PairSpec` (cross-asset beta hedge), :class:`ScalpSpec`
  (perp band scalping);
* risk overlays for any of them: :class:`RiskSpec` (:mod:`gammaperp.engine._risk_nb`);
* the Python protocol: :class:`Order`, :class:`State`, :class:`Strategy`
  (:mod:`gammaperp.strategies.protocol`) and examples (:mod:`gammaperp.strategies.examples`).
"""

from gammaperp.engine.specs import CarrySpec, PairSpec, RiskSpec, ScalpSpec, StraddleSpec
from gammaperp.strategies.protocol import Order, State, Strategy

__all__ = [
    "CarrySpec",
    "Order",
    "PairSpec",
    "RiskSpec",
    "ScalpSpec",
    "State",
    "StraddleSpec",
    "Strategy",
]
