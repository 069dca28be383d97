"""``gammaperp price`` (option price and greeks) and ``gammaperp iv`` (implied vol)."""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gammaperp.cli._app import app, console

__all__ = ["iv_command", "parse_vol", "price_command", "price_structure"]

STRUCTURES = ("call", "put", "straddle", "strangle")
GREEK_NAMES = ("price", "delta", "gamma", "vega", "vega_per_vol_point", "theta_per_day", "rho")
DAYS_PER_YEAR = 365.0


# --------------------------------------------------------------------------------------------
# argument parsing (errors name the option)


def _finite(option: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{option} must be a finite number, got {value}")
    return float(value)


def _positive(option: str, value: float) -> float:
    _finite(option, value)
    if value <= 0:
        raise ValueError(f"{option} must be > 0, got {value:g}")
    return float(value)


def parse_vol(text: str, option: str = "--vol") -> float:
    """``0.6`` or ``60%`` -> 0.6 (decimal, annualised). Bare numbers above 5 are rejected as
    probably meant in percent."""
    raw = text.strip()
    percent = raw.endswith("%")
    body = raw[:-1].strip() if percent else raw
    try:
        value = float(body)
    except ValueError:
        raise ValueError(f"{option} must be a number like 0.6 or 60%, got {text!r}") from None
    if percent:
        value /= 100.0
    _positive(option, value)
    if not percent and value > 5:
        raise ValueError(
            f"{option} is a decimal (0.6 = 60%); got {value:g}: write {value / 100:g} or {value:g}%"
        )
    return value


def _model(text: str) -> str:
    key = text.strip().lower()
    if key not in ("bs", "black76"):
        raise ValueError(f"--model must be 'bs' or 'black76', got {text!r}")
    return key


def _structure(text: str) -> str:
    key = text.strip().lower()
    if key not in STRUCTURES:
        raise ValueError(f"unknown kind {text!r}; use one of: {', '.join(STRUCTURES)}")
    return key


# --------------------------------------------------------------------------------------------
# computation (plain data; the CLI only formats it)


def price_structure(
    structure: str,
    spot: float,
    strike: float,
    vol: float,
    days: float,
    strike2: float | None = None,
    rate: float = 0.0,
    carry: float = 0.0,
    model: str = "bs",
    inverse: bool = False,
    quantity: float = 1.0,
) -> dict[str, Any]:
    """Legs, total and inputs of a call, put, straddle or strangle as plain data.

    Leg values are per position (``quantity`` options); vega is per 1.00 of vol and, as
    ``vega_per_vol_point``, per 1 vol point (0.01). A strangle is a put struck at ``strike``
    plus a call struck at ``strike2``.
    """
    from gammaperp.pricing import greeks

    structure = _structure(structure)
    model = _model(model)
    spot = _positive("--spot", spot)
    strike = _positive("--strike", strike)
    vol = _positive("--vol", vol)
    days = _finite("--days", days)
    if days < 0:
        raise ValueError(f"--days must be >= 0, got {days:g}")
    rate = _finite("--rate", rate)
    carry = _finite("--carry", carry)
    quantity = _finite("--quantity", quantity)
    if quantity == 0:
        raise ValueError("--quantity must not be 0")
    if model == "black76" and carry != 0:
        raise ValueError("--carry must be 0 with --model black76 (the forward includes carry)")
    if structure == "strangle":
        if strike2 is None:
            raise ValueError("strangle needs --strike2 (--strike is the put, --strike2 the call)")
        strike2 = _positive("--strike2", strike2)
    elif strike2 is not None:
        raise ValueError(f"--strike2 is only used by strangle, not {structure}")

    legs_spec = {
        "call": [("call", strike)],
        "put": [("put", strike)],
        "straddle": [("call", strike), ("put", strike)],
        "strangle": [("put", strike), ("call", strike2)],
    }[structure]
    t_years = days / DAYS_PER_YEAR
    settlement = "inverse" if inverse else "linear"
    legs = []
    for kind, k in legs_spec:
        g = greeks(kind, spot, k, t_years, vol, r=rate, q=carry, model=model, settlement=settlement)
        leg: dict[str, Any] = {"leg": kind, "strike": k, "quantity": quantity}
        for name in GREEK_NAMES:
            value = g.vega / 100.0 if name == "vega_per_vol_point" else g[name]
            leg[name] = quantity * float(value)
        if inverse:
            leg["delta_premium_adjusted"] = quantity * float(g["delta_premium_adjusted"])
        legs.append(leg)
    names = [*GREEK_NAMES, *(["delta_premium_adjusted"] if inverse else [])]
    total = {name: math.fsum(leg[name] for leg in legs) for name in names}
    unit = "coin" if inverse else "USD"
    units = {
        "price": unit,
        "delta": "coin per USD" if inverse else "coin (per 1 coin of underlying)",
        "gamma": "coin per USD^2" if inverse else "per USD",
        "vega": f"{unit} per 1.00 vol",
        "vega_per_vol_point": f"{unit} per 1 vol point",
        "theta_per_day": f"{unit} per day",
        "rho": f"{unit} per 1.00 rate",
    }
    if inverse:
        units["delta_premium_adjusted"] = "coin (premium-adjusted)"
    inputs = {
        "structure": structure,
        "spot": spot,
        "strike": strike,
        "strike2": strike2,
        "vol": vol,
        "days": days,
        "t_years": t_years,
        "rate": rate,
        "carry": carry,
        "model": model,
        "settlement": settlement,
        "quantity": quantity,
    }
    return {"inputs": inputs, "legs": legs, "total": total, "units": units}


# --------------------------------------------------------------------------------------------
# output


def _num(x: float) -> str:
    return f"{x:.8g}"


def _out_console() -> Console:
    """The shared console on a terminal; a wide plain one otherwise (no wrapped numbers)."""
    if console.is_terminal:
        return console
    return Console(file=sys.stdout, width=200, color_system=None, highlight=False)


def _write_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")


def _inputs_line(inputs: dict[str, Any]) -> str:
    parts = [f"spot={_num(inputs['spot'])}", f"strike={_num(inputs['strike'])}"]
    if inputs.get("strike2") is not None:
        parts.append(f"strike2={_num(inputs['strike2'])}")
    if "vol" in inputs:
        parts.append(f"vol={_num(inputs['vol'])} ({_num(inputs['vol'] * 100)}%)")
    if "price" in inputs:
        parts.append(f"price={_num(inputs['price'])}")
    parts += [
        f"days={_num(inputs['days'])}",
        f"T={_num(inputs['t_years'])} years (days/365)",
        f"rate={_num(inputs['rate'])}",
        f"carry={_num(inputs['carry'])}",
        f"model={inputs['model']}",
        f"settlement={inputs['settlement']}",
    ]
    if "quantity" in inputs:
        parts.append(f"quantity={_num(inputs['quantity'])}")
    return "inputs: " + " ".join(parts)


def _columns(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(header with unit, key) of every greek column."""
    unit = result["units"]["price"]
    inverse = result["inputs"]["settlement"] == "inverse"
    cols = [
        (f"price\n({unit})", "price"),
        ("delta\n(coin/USD)" if inverse else "delta\n(coin)", "delta"),
        ("gamma\n(coin/USD²)" if inverse else "gamma\n(1/USD)", "gamma"),
        (f"vega\n({unit}/1.00 vol)", "vega"),
        (f"vega\n({unit}/vol pt)", "vega_per_vol_point"),
        (f"theta\n({unit}/day)", "theta_per_day"),
        (f"rho\n({unit}/1.00 rate)", "rho"),
    ]
    if inverse:
        cols.append(("delta\n(prem.-adj.)", "delta_premium_adjusted"))
    return cols


def _render_table(result: dict[str, Any]) -> None:
    """One row per leg plus a total row; on a terminal too narrow for that, one row per
    greek and one column per leg (numbers are never cut)."""
    from rich.measure import Measurement

    inputs = result["inputs"]
    title = f"{inputs['structure']} ({inputs['model']})"
    cols = _columns(result)
    table = Table(title=title)
    table.add_column("leg", no_wrap=True)
    table.add_column("strike\n(USD)", justify="right", no_wrap=True)
    table.add_column("qty", justify="right", no_wrap=True)
    for header, _key in cols:
        table.add_column(header, justify="right", no_wrap=True)
    for leg in result["legs"]:
        row = [leg["leg"], _num(leg["strike"]), _num(leg["quantity"])]
        table.add_row(*row, *[_num(leg[key]) for _header, key in cols])
    table.add_section()
    table.add_row("total", "", "", *[_num(result["total"][key]) for _header, key in cols])
    out = _out_console()
    out.print(_inputs_line(inputs), markup=False, highlight=False)
    if Measurement.get(out, out.options.update_width(10_000), table).maximum > out.width:
        table = Table(title=title)
        table.add_column("greek (unit)", no_wrap=True)
        for leg in result["legs"]:
            table.add_column(
                f"{leg['leg']} {_num(leg['strike'])}\nx {_num(leg['quantity'])}",
                justify="right",
                no_wrap=True,
            )
        table.add_column("total", justify="right", no_wrap=True)
        for header, key in cols:
            values = [_num(leg[key]) for leg in result["legs"]]
            table.add_row(header.replace("\n", " "), *values, _num(result["total"][key]))
    out.print(table)


# --------------------------------------------------------------------------------------------
# commands

_MODEL_HELP = "bs (Black-Scholes on spot) or black76 (Black on the forward / perp)."


@app.command("price")
def price_command(
    kind: Annotated[str, typer.Argument(help="call, put, straddle or strangle.")],
    spot: Annotated[float, typer.Option("--spot", help="Spot (bs) or forward (black76), USD.")],
    strike: Annotated[
        float, typer.Option("--strike", help="Strike, USD (the put strike of a strangle).")
    ],
    vol: Annotated[str, typer.Option("--vol", help="Implied vol: decimal 0.6 or 60%.")],
    days: Annotated[float, typer.Option("--days", help="Days to expiry (T = days/365).")],
    strike2: Annotated[
        float | None, typer.Option("--strike2", help="Strangle only: the call strike, USD.")
    ] = None,
    rate: Annotated[float, typer.Option("--rate", help="Rate, decimal per year.")] = 0.0,
    carry: Annotated[
        float, typer.Option("--carry", help="Carry / dividend yield q, decimal per year.")
    ] = 0.0,
    model: Annotated[str, typer.Option("--model", help=_MODEL_HELP)] = "bs",
    inverse: Annotated[
        bool, typer.Option("--inverse", help="Coin-settled (Deribit style): values in coin.")
    ] = False,
    quantity: Annotated[
        float, typer.Option("--quantity", help="Options per leg (negative = short).")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Price and greeks of a call, put, straddle or strangle (one row per leg plus total)."""
    result = price_structure(
        kind,
        spot=spot,
        strike=strike,
        vol=parse_vol(vol),
        days=days,
        strike2=strike2,
        rate=rate,
        carry=carry,
        model=model,
        inverse=inverse,
        quantity=quantity,
    )
    if as_json:
        _write_json(result)
    else:
        _render_table(result)


@app.command("iv")
def iv_command(
    kind: Annotated[str, typer.Argument(help="call or put.")],
    price: Annotated[
        float, typer.Option("--price", help="Option premium: USD, or coin with --inverse.")
    ],
    spot: Annotated[float, typer.Option("--spot", help="Spot (bs) or forward (black76), USD.")],
    strike: Annotated[float, typer.Option("--strike", help="Strike, USD.")],
    days: Annotated[float, typer.Option("--days", help="Days to expiry (T = days/365).")],
    rate: Annotated[float, typer.Option("--rate", help="Rate, decimal per year.")] = 0.0,
    carry: Annotated[
        float, typer.Option("--carry", help="Carry / dividend yield q, decimal per year.")
    ] = 0.0,
    model: Annotated[str, typer.Option("--model", help=_MODEL_HELP)] = "bs",
    inverse: Annotated[
        bool, typer.Option("--inverse", help="Coin-settled: --price is in coin.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Implied vol of a call or put premium; exit 2 with the reason when there is none."""
    from gammaperp.pricing import implied_vol_result

    key = kind.strip().lower()
    if key not in ("call", "put"):
        raise ValueError(f"unknown kind {kind!r}; iv takes call or put")
    model = _model(model)
    price = _finite("--price", price)
    if price <= 0:
        raise ValueError(f"--price must be > 0, got {price:g}")
    spot = _positive("--spot", spot)
    strike = _positive("--strike", strike)
    days = _finite("--days", days)
    if days <= 0:
        raise ValueError(f"--days must be > 0 (implied vol is undefined at expiry), got {days:g}")
    rate = _finite("--rate", rate)
    carry = _finite("--carry", carry)
    if model == "black76" and carry != 0:
        raise ValueError("--carry must be 0 with --model black76 (the forward includes carry)")
    settlement = "inverse" if inverse else "linear"
    t_years = days / DAYS_PER_YEAR
    res = implied_vol_result(
        price, key, spot, strike, t_years, r=rate, q=carry, model=model, settlement=settlement
    )
    unit = "coin" if inverse else "USD"
    if not res.ok or not math.isfinite(res.vol):
        raise ValueError(
            f"no implied vol for {key} price {price:g} {unit}: {res.reason} "
            f"(bounds {res.lower_bound:.8g} .. {res.upper_bound:.8g} {unit})"
        )
    inputs = {
        "kind": key,
        "price": price,
        "spot": spot,
        "strike": strike,
        "days": days,
        "t_years": t_years,
        "rate": rate,
        "carry": carry,
        "model": model,
        "settlement": settlement,
    }
    if as_json:
        _write_json({"vol": res.vol, "vol_pct": res.vol * 100.0, "inputs": inputs})
        return
    out = _out_console()
    out.print(_inputs_line(inputs), markup=False, highlight=False)
    out.print(f"implied vol: {res.vol * 100:.4f}% ({res.vol:.8g})", markup=False, highlight=False)
