"""Python API over the numba kernels: validation, broadcasting, settlement conversion."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from gammaperp.pricing._nb import (
    IV_ABOVE_UPPER_BOUND,
    IV_AT_EXPIRY,
    IV_BAD_INPUT,
    IV_BELOW_INTRINSIC,
    IV_NO_CONVERGENCE,
    IV_OK,
    MODEL_BLACK76,
    MODEL_BS,
    delta_gamma_loop_nb,
    greeks_loop_nb,
    implied_vol_loop_nb,
)

__all__ = [
    "IV_REASONS",
    "Greeks",
    "ImpliedVolResult",
    "delta_gamma",
    "greeks",
    "implied_vol",
    "implied_vol_result",
    "iv_reason",
    "sum_greeks",
]

FloatOrArray = float | np.ndarray

IV_REASONS: dict[int, str] = {
    IV_OK: "ok",
    IV_BELOW_INTRINSIC: (
        "price is at or below the no-arbitrage lower bound (discounted intrinsic value "
        "df*max(F-K, 0) for a call, df*max(K-F, 0) for a put): no time value, so no implied vol"
    ),
    IV_ABOVE_UPPER_BOUND: (
        "price is at or above the no-arbitrage upper bound (discounted forward df*F for a call, "
        "discounted strike df*K for a put): no finite implied vol"
    ),
    IV_BAD_INPUT: ("bad input: spot and strike must be > 0, time >= 0 and every number finite"),
    IV_NO_CONVERGENCE: "the implied-vol solver did not converge",
    IV_AT_EXPIRY: "the option is at expiry (t_years == 0): implied vol is undefined",
}

_KINDS = {"call": 1, "c": 1, "put": 0, "p": 0}
_CALL_FORMS = ["call", "c", "Call", "CALL", "C"]
_PUT_FORMS = ["put", "p", "Put", "PUT", "P"]
_MODELS = {"bs": MODEL_BS, "black76": MODEL_BLACK76}
_SETTLEMENTS = ("linear", "inverse")


def iv_reason(code: int) -> str:
    """Human-readable text for an implied-vol reason code."""
    try:
        return IV_REASONS[int(code)]
    except KeyError:
        return f"unknown implied-vol reason code {int(code)}"


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Greeks(Mapping):
    """Price and greeks of one option (floats) or of many (arrays of the broadcast shape).

    Fields are readable as attributes (``g.delta``) and as keys (``g["delta"]``); ``to_dict()``
    returns the numeric fields. Units for ``settlement="linear"``: price in USD (quote
    currency), delta per 1 USD of spot (or forward), gamma per USD², vega per 1.00 of vol,
    theta per year (``theta_per_day = theta / 365``), rho per 1.00 of rate. For
    ``settlement="inverse"`` every value is in coin: price in coin, delta in coin per USD,
    gamma in coin per USD², vega/theta/rho in coin; ``delta_premium_adjusted`` (dimensionless,
    = spot * delta = USD delta - coin price) is the premium-adjusted delta Deribit shows.
    """

    price: FloatOrArray
    delta: FloatOrArray
    gamma: FloatOrArray
    vega: FloatOrArray
    theta: FloatOrArray
    theta_per_day: FloatOrArray
    rho: FloatOrArray
    delta_premium_adjusted: FloatOrArray | None = None
    model: str = "bs"
    settlement: str = "linear"

    def _numeric_names(self) -> tuple[str, ...]:
        names = ("price", "delta", "gamma", "vega", "theta", "theta_per_day", "rho")
        if self.delta_premium_adjusted is not None:
            names += ("delta_premium_adjusted",)
        return names

    def __getitem__(self, key: str) -> FloatOrArray:
        if key not in self._numeric_names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._numeric_names())

    def __len__(self) -> int:
        return len(self._numeric_names())

    def to_dict(self) -> dict[str, FloatOrArray]:
        """The numeric fields as a plain dict."""
        return {k: getattr(self, k) for k in self._numeric_names()}


@dataclass(frozen=True)
class ImpliedVolResult:
    """Implied vol plus why it failed. ``vol`` is NaN wherever ``code != IV_OK``.

    ``lower_bound`` / ``upper_bound`` are the no-arbitrage price bounds in the same unit as the
    input price (USD for linear, coin for inverse settlement) so a caller can say how far out
    of bounds a quote is.
    """

    vol: FloatOrArray
    code: int | np.ndarray
    lower_bound: FloatOrArray
    upper_bound: FloatOrArray

    @property
    def ok(self) -> bool | np.ndarray:
        """True where an implied vol was found."""
        if isinstance(self.code, np.ndarray):
            return self.code == IV_OK
        return self.code == IV_OK

    @property
    def reason(self) -> str | np.ndarray:
        """Text for ``code`` (an object array of str for array inputs)."""
        if isinstance(self.code, np.ndarray):
            out = np.empty(self.code.shape, dtype=object)
            for idx, c in np.ndenumerate(self.code):
                out[idx] = iv_reason(int(c))
            return out
        return iv_reason(self.code)


# --------------------------------------------------------------------------------------------
# Validation and broadcasting
# --------------------------------------------------------------------------------------------


def _parse_model(model: str) -> int:
    key = model.strip().lower() if isinstance(model, str) else None
    if key not in _MODELS:
        raise ValueError(f"model must be 'bs' or 'black76', got {model!r}")
    return _MODELS[key]


def _parse_settlement(settlement: str) -> str:
    key = settlement.strip().lower() if isinstance(settlement, str) else None
    if key not in _SETTLEMENTS:
        raise ValueError(f"settlement must be 'linear' or 'inverse', got {settlement!r}")
    return key


def _kind_code(value: Any, where: str) -> int:
    if isinstance(value, str | np.str_):
        value = str(value)
        code = _KINDS.get(value.strip().lower())
        if code is not None:
            return code
    raise ValueError(f"kind must be 'call' or 'put' (or 'c'/'p'), got {value!r}{where}")


def _parse_kind(kind: Any) -> np.ndarray:
    """int8 array (1 = call), shape of ``kind``; 0-d for a single string.

    Arrays of strings are mapped through their unique values (fast for 1e6 legs); a numpy
    bool array is taken as ``is_call``.
    """
    if isinstance(kind, str | np.str_):
        return np.array(_kind_code(kind, ""), dtype=np.int8)
    arr = np.asarray(kind)
    if arr.dtype == np.bool_:
        return arr.astype(np.int8)
    if arr.dtype.kind not in "UO":
        raise ValueError(
            f"kind must be 'call' or 'put' (or 'c'/'p'), or an array of those, got {kind!r}"
        )
    a = arr.astype(str) if arr.dtype.kind == "O" else arr
    out = np.zeros(arr.shape, dtype=np.int8)
    is_call = a == "call"
    known = is_call | (a == "put")
    if not known.all():
        is_call |= np.isin(a, _CALL_FORMS)
        known |= is_call | np.isin(a, _PUT_FORMS)
    out[is_call] = 1
    if not known.all():  # other spellings (" Call", "cAlL"...) or junk: one by one
        for idx in zip(*np.nonzero(~known), strict=True):
            idx = tuple(int(i) for i in idx)
            out[idx] = _kind_code(str(a[idx]), f" at kind{_fmt_index(idx)}")
    return out


def _fmt_index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]"


def _as_float(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    return arr


def _check(name: str, arr: np.ndarray, rule: str) -> None:
    """Raise ValueError naming ``name`` (and the first bad index) if ``arr`` breaks ``rule``.

    rule: "pos" (finite, > 0), "nonneg" (finite, >= 0) or "finite".
    """
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(arr)
        if rule == "pos":
            good = finite & (arr > 0)
            need = "> 0"
        elif rule == "nonneg":
            good = finite & (arr >= 0)
            need = ">= 0"
        else:
            good = finite
            need = "finite"
    if arr.ndim == 0:
        if not bool(good):
            value = float(arr)
            if not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
            raise ValueError(f"{name} must be {need}, got {value}")
        return
    if good.all():
        return
    flat = int(np.argmin(good.ravel()))  # first False
    idx = np.unravel_index(flat, arr.shape)
    value = float(arr[idx])
    what = "a finite number" if not np.isfinite(value) else need
    raise ValueError(f"{name} must be {what}; first bad value {name}{_fmt_index(idx)} = {value}")


def _broadcast(named: dict[str, np.ndarray]) -> tuple[tuple[int, ...], int, list[np.ndarray]]:
    """Broadcast shape, its size and the 1-d inputs (length n, or 1 when size 1)."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in named.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in named.items() if v.ndim)
        raise ValueError(f"arguments cannot be broadcast together: {shapes}") from None
    n = int(np.prod(shape, dtype=np.int64))
    flat = []
    for a in named.values():
        if a.size == 1:
            flat.append(np.ascontiguousarray(a.reshape(1)))
        elif a.shape == shape:
            flat.append(np.ascontiguousarray(a).reshape(-1))
        else:
            flat.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    return shape, n, flat


def _check_black76_q(model: int, q: np.ndarray) -> None:
    if model == MODEL_BLACK76 and np.any(q != 0.0):
        bad = float(q.ravel()[int(np.argmax(q.ravel() != 0.0))])
        raise ValueError(
            "q must be 0 for model='black76' (the forward already includes carry and "
            f"funding), got {bad}"
        )


def _out(x: np.ndarray, shape: tuple[int, ...], scalar: bool) -> FloatOrArray:
    if scalar:
        return float(x[0])
    return x.reshape(shape)


def _forward(model: int, spot, t, r, q):
    if model == MODEL_BS:
        return spot * np.exp((r - q) * t)
    return spot


def _prepare(kind, spot, strike, t_years, vol, r, q, model):
    """Validate greeks inputs; return model id, scalar flag, shape, size and 1-d inputs."""
    m = _parse_model(model)
    is_call = _parse_kind(kind)
    arrs = {
        "spot": _as_float("spot", spot),
        "strike": _as_float("strike", strike),
        "t_years": _as_float("t_years", t_years),
        "vol": _as_float("vol", vol),
        "r": _as_float("r", r),
        "q": _as_float("q", q),
    }
    _check("spot", arrs["spot"], "pos")
    _check("strike", arrs["strike"], "pos")
    _check("t_years", arrs["t_years"], "nonneg")
    _check("vol", arrs["vol"], "pos")
    _check("r", arrs["r"], "finite")
    _check("q", arrs["q"], "finite")
    _check_black76_q(m, arrs["q"])
    scalar = is_call.ndim == 0 and all(a.ndim == 0 for a in arrs.values())
    shape, n, flat = _broadcast({"kind": is_call, **arrs})
    return m, scalar, shape, n, flat


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def greeks(
    kind: Any,
    spot: Any,
    strike: Any,
    t_years: Any,
    vol: Any,
    r: Any = 0.0,
    q: Any = 0.0,
    model: str = "bs",
    settlement: str = "linear",
) -> Greeks:
    """Price and greeks of European options.

    Args:
        kind: "call" / "put" (or "c" / "p", any case), an array of those, or a numpy bool
            array (True = call).
        spot: spot price for ``model="bs"``, the forward (e.g. perp mark) for ``"black76"``.
        strike: strike price.
        t_years: time to expiry in years (ACT/365); 0 means at expiry.
        vol: annualised volatility as a decimal (0.6 = 60 %), > 0.
        r: continuously compounded rate.
        q: continuous dividend / carry yield (BS only; must be 0 for black76).
        model: "bs" (Black-Scholes-Merton on spot) or "black76" (Black on the forward).
        settlement: "linear" (USD premium) or "inverse" (coin premium = USD value / spot, or
            / forward for black76, Deribit-style).

    Numeric arguments broadcast with numpy rules. All scalar inputs give Python floats, any
    array input gives arrays of the broadcast shape.

    Raises:
        ValueError: naming the argument (and first bad index) for non-positive spot, strike or
            vol, negative t_years, NaN/inf anywhere, unknown kind/model/settlement, or q != 0
            with black76.
    """
    st = _parse_settlement(settlement)
    m, scalar, shape, n, (c, s, k, t, v, rr, qq) = _prepare(
        kind, spot, strike, t_years, vol, r, q, model
    )
    out = greeks_loop_nb(n, m, c, s, k, t, v, rr, qq)
    price, delta, gamma, vega, theta, rho = out
    dpa = None
    if st == "inverse":
        x = s  # the settlement index: spot for bs, forward for black76
        price = price / x
        delta_usd = delta
        delta = (delta_usd - price) / x
        gamma = (gamma - 2.0 * delta) / x
        vega = vega / x
        theta = theta / x
        rho = rho / x
        dpa = delta_usd - price
        if dpa.shape != price.shape:
            dpa = np.broadcast_to(dpa, price.shape)
    return Greeks(
        price=_out(price, shape, scalar),
        delta=_out(delta, shape, scalar),
        gamma=_out(gamma, shape, scalar),
        vega=_out(vega, shape, scalar),
        theta=_out(theta, shape, scalar),
        theta_per_day=_out(theta / 365.0, shape, scalar),
        rho=_out(rho, shape, scalar),
        delta_premium_adjusted=None if dpa is None else _out(dpa, shape, scalar),
        model="bs" if m == MODEL_BS else "black76",
        settlement=st,
    )


def delta_gamma(
    kind: Any,
    spot: Any,
    strike: Any,
    t_years: Any,
    vol: Any,
    r: Any = 0.0,
    q: Any = 0.0,
    model: str = "bs",
    settlement: str = "linear",
) -> tuple[FloatOrArray, FloatOrArray]:
    """``(delta, gamma)`` only: same arguments, validation and units as :func:`greeks`."""
    if _parse_settlement(settlement) == "inverse":
        g = greeks(kind, spot, strike, t_years, vol, r, q, model, settlement)
        return g.delta, g.gamma
    m, scalar, shape, n, (c, s, k, t, v, rr, qq) = _prepare(
        kind, spot, strike, t_years, vol, r, q, model
    )
    d, g = delta_gamma_loop_nb(n, m, c, s, k, t, v, rr, qq)
    return _out(d, shape, scalar), _out(g, shape, scalar)


def implied_vol_result(
    price: Any,
    kind: Any,
    spot: Any,
    strike: Any,
    t_years: Any,
    r: Any = 0.0,
    q: Any = 0.0,
    model: str = "bs",
    settlement: str = "linear",
) -> ImpliedVolResult:
    """Implied vol with a reason code per option (see :data:`IV_REASONS`, :func:`iv_reason`).

    ``price`` is in USD for ``settlement="linear"`` and in coin for ``"inverse"`` (it is
    converted to USD at the spot, or the forward for black76, before solving). Prices outside
    the no-arbitrage bounds, ``t_years == 0`` or a failed solve give ``vol = NaN`` and a
    non-zero code, never an exception. Malformed arguments (NaN anywhere, non-positive spot or
    strike, negative t_years) raise ``ValueError`` naming the argument.
    """
    m = _parse_model(model)
    st = _parse_settlement(settlement)
    is_call = _parse_kind(kind)
    arrs = {
        "price": _as_float("price", price),
        "spot": _as_float("spot", spot),
        "strike": _as_float("strike", strike),
        "t_years": _as_float("t_years", t_years),
        "r": _as_float("r", r),
        "q": _as_float("q", q),
    }
    _check("price", arrs["price"], "finite")
    _check("spot", arrs["spot"], "pos")
    _check("strike", arrs["strike"], "pos")
    _check("t_years", arrs["t_years"], "nonneg")
    _check("r", arrs["r"], "finite")
    _check("q", arrs["q"], "finite")
    _check_black76_q(m, arrs["q"])
    scalar = is_call.ndim == 0 and all(a.ndim == 0 for a in arrs.values())
    shape, n, (p, c, s, k, t, rr, qq) = _broadcast(
        {"price": arrs["price"], "kind": is_call, **{k: v for k, v in arrs.items() if k != "price"}}
    )
    p_usd = p * s if st == "inverse" else p
    vols, codes = implied_vol_loop_nb(n, m, p_usd, c, s, k, t, rr, qq)
    # No-arbitrage bounds in the caller's premium unit.
    df = np.exp(-rr * t)
    fwd = _forward(m, s, t, rr, qq)
    call = c != 0
    lower = df * np.where(call, np.maximum(fwd - k, 0.0), np.maximum(k - fwd, 0.0))
    upper = df * np.where(call, fwd, k)
    if st == "inverse":
        lower = lower / s
        upper = upper / s
    lower = np.broadcast_to(lower, (n,))
    upper = np.broadcast_to(upper, (n,))
    return ImpliedVolResult(
        vol=_out(vols, shape, scalar),
        code=int(codes[0]) if scalar else codes.reshape(shape),
        lower_bound=_out(lower, shape, scalar),
        upper_bound=_out(upper, shape, scalar),
    )


def implied_vol(
    price: Any,
    kind: Any,
    spot: Any,
    strike: Any,
    t_years: Any,
    r: Any = 0.0,
    q: Any = 0.0,
    model: str = "bs",
    settlement: str = "linear",
) -> FloatOrArray:
    """Implied vol (float or array), NaN where it does not exist; see :func:`implied_vol_result`
    for the reason codes."""
    return implied_vol_result(price, kind, spot, strike, t_years, r, q, model, settlement).vol


def sum_greeks(legs: Iterable[tuple[float, Greeks]]) -> Greeks:
    """Quantity-weighted sum of the greeks of a multi-leg structure.

    ``legs`` is an iterable of ``(quantity, Greeks)`` (quantity > 0 long, < 0 short). All legs
    must share the settlement (USD and coin values cannot be added); the model of the result is
    the legs' common model or "mixed".
    """
    legs = list(legs)
    if not legs:
        raise ValueError("legs must contain at least one (quantity, Greeks) pair")
    settlements = {g.settlement for _, g in legs}
    if len(settlements) != 1:
        raise ValueError(f"legs mix settlements {sorted(settlements)}; convert to one unit first")
    models = {g.model for _, g in legs}
    names = [f.name for f in fields(Greeks) if f.name not in ("model", "settlement")]
    totals: dict[str, Any] = {}
    for name in names:
        vals = [getattr(g, name) for _, g in legs]
        if any(v is None for v in vals):
            totals[name] = None
            continue
        total = 0.0
        for (qty, _), v in zip(legs, vals, strict=True):
            total = total + float(qty) * v
        totals[name] = total
    return Greeks(
        **totals,
        model=models.pop() if len(models) == 1 else "mixed",
        settlement=settlements.pop(),
    )
