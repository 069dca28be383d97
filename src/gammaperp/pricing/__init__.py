"""European option pricing: Black-Scholes-Merton (spot) and Black-76 (forward / perp).

Two layers:

* numba kernels (``gammaperp.pricing._nb``, re-exported here), scalar float arguments, callable
  from other ``@njit`` code; invalid inputs give NaN, never an exception. The engine uses
  ``greeks_nb(model, is_call, S, K, T, vol, r, q)`` / ``delta_gamma_nb`` (model 0 = BS,
  1 = Black-76) per bar.
* the Python API (:func:`greeks`, :func:`delta_gamma`, :func:`implied_vol`,
  :func:`implied_vol_result`): validates (``ValueError`` naming the argument), broadcasts
  numpy arrays and runs a numba loop over them.

Conventions: vega per 1.00 of vol, theta per year as calendar time passes (``-dV/dT``),
``theta_per_day = theta / 365``, rho per 1.00 of rate. Black-76 greeks are w.r.t. the forward,
discounted; its theta and rho hold the forward fixed (``rho = -T * price``). At expiry
(``t_years == 0``) the price is intrinsic, gamma = vega = theta = rho = 0 and the call delta is
1 / 0.5 / 0 for spot above / at / below the strike (put delta = call delta - 1).

Coin-settled (inverse, Deribit-style) options, ``settlement="inverse"``: the payoff in coin is
the USD payoff divided by the settlement index X at expiry, so the coin premium is the USD model
value divided by the current index, ``V_coin = V_usd / X`` with X = spot for ``model="bs"`` and
X = forward for ``model="black76"``. Coin greeks are the exact partial derivatives of
``V_coin``:

* ``delta_coin = d(V/X)/dX = (delta - V_coin) / X``  (coin per USD of index move)
* ``gamma_coin = (gamma - 2 * delta_coin) / X``      (coin per USD²)
* ``vega_coin = vega / X``, ``theta_coin = theta / X``, ``rho_coin = rho / X`` (coin; X fixed)
* ``delta_premium_adjusted = X * delta_coin = delta - V_coin`` (dimensionless, coin of
  underlying per option): Deribit's "premium-adjusted delta".

Coin premiums must NOT be valued with the inverse-perpetual rule ``qty * (1/entry - 1/exit)``:
an inverse option is a USD option value converted to coin at the index, not a contract whose
value is linear in 1/price.
"""

from gammaperp.pricing._api import (
    IV_REASONS,
    Greeks,
    ImpliedVolResult,
    delta_gamma,
    greeks,
    implied_vol,
    implied_vol_result,
    iv_reason,
    sum_greeks,
)
from gammaperp.pricing._nb import (
    IV_ABOVE_UPPER_BOUND,
    IV_AT_EXPIRY,
    IV_BAD_INPUT,
    IV_BELOW_INTRINSIC,
    IV_NO_CONVERGENCE,
    IV_OK,
    MODEL_BLACK76,
    MODEL_BS,
    black76_delta_gamma_nb,
    black76_greeks_nb,
    black76_price_nb,
    bs_delta_gamma_nb,
    bs_greeks_nb,
    bs_price_nb,
    delta_gamma_nb,
    greeks_nb,
    implied_vol_nb,
    inverse_greeks_nb,
    norm_cdf_nb,
    norm_cdf_pdf_nb,
    norm_pdf_nb,
    price_nb,
)

__all__ = [
    "IV_ABOVE_UPPER_BOUND",
    "IV_AT_EXPIRY",
    "IV_BAD_INPUT",
    "IV_BELOW_INTRINSIC",
    "IV_NO_CONVERGENCE",
    "IV_OK",
    "IV_REASONS",
    "MODEL_BLACK76",
    "MODEL_BS",
    "Greeks",
    "ImpliedVolResult",
    "black76_delta_gamma_nb",
    "black76_greeks_nb",
    "black76_price_nb",
    "bs_delta_gamma_nb",
    "bs_greeks_nb",
    "bs_price_nb",
    "delta_gamma",
    "delta_gamma_nb",
    "greeks",
    "greeks_nb",
    "implied_vol",
    "implied_vol_nb",
    "implied_vol_result",
    "inverse_greeks_nb",
    "iv_reason",
    "norm_cdf_nb",
    "norm_cdf_pdf_nb",
    "norm_pdf_nb",
    "price_nb",
    "sum_greeks",
]
