"""Funding at mark, liquidation at the exchange formula's price, on the kernel and the Account."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.account import Account
from gammaperp.engine.margin import liquidation_price_inverse, liquidation_price_linear
from gammaperp.engine.specs import ScriptedOrders
from gammaperp.errors import EngineError
from gammaperp.market.model import Instrument

LIN = Instrument("BTCUSDT", "binance", "perp_linear")
INV = Instrument("BTCUSD_PERP", "binance-cm", "perp_inverse", contract_size=100.0)


@pytest.mark.parametrize(
    ("qty", "rate", "expected"),
    [(-5.0, 0.0001, 20.0), (5.0, 0.0001, -20.0), (-5.0, -0.0001, -20.0), (5.0, -0.0001, 20.0)],
)
def test_funding_linear_account(qty, rate, expected):
    # short 5 BTC-PERP at +0.01 % with mark 40,000 receives 20 USDT; the long pays
    acct = Account([LIN], {"binance": 10_000.0})
    acct.fill("BTCUSDT", qty, 40_000.0, fee_rate=0.0)
    assert acct.fund("BTCUSDT", mark=40_000.0, rate=rate) == pytest.approx(expected, abs=1e-12)
    assert acct.balance("binance") == pytest.approx(10_000.0 + expected, abs=1e-9)


def test_funding_inverse_pays_in_coin():
    acct = Account([INV], {"binance-cm": 1.0})
    acct.fill("BTCUSD_PERP", 1000.0, 40_000.0, fee_rate=0.0)  # 100,000 USD long
    paid = acct.fund("BTCUSD_PERP", mark=40_000.0, rate=0.0001)
    assert paid == pytest.approx(-1000 * 100 / 40_000 * 0.0001, abs=1e-15)  # -0.00025 BTC
    assert acct.balance("binance-cm") == pytest.approx(1.0 - 0.00025, abs=1e-15)


def test_funding_in_the_kernel_uses_mark_not_close(market_factory):
    close = [40_000.0] * 5
    mark = [40_000.0, 40_000.0, 40_100.0, 40_000.0, 40_000.0]
    m = market_factory(close, mark=mark, funding_bars=(2,), funding_rates=(0.0001,))
    spec = RunSpec(
        venues=(VenueSpec(name="venue", taker_fee=0.0, capital=100_000.0, tiers="flat"),),
        strategy=None,
        orders=ScriptedOrders(bar=[0], instrument=["PERP"], qty=[-5.0]),
    )
    r = simulate(m, spec)
    assert r.funding["payment"].iloc[0] == pytest.approx(5 * 40_100 * 0.0001, abs=1e-12)
    assert r.funding["mark"].iloc[0] == 40_100.0
    assert r.summary["funding"] == pytest.approx(20.05, abs=1e-12)


def test_inverse_perp_pnl_in_coin():
    acct = Account([INV], {"binance-cm": 1.0})
    acct.fill("BTCUSD_PERP", 100.0, 40_000.0, fee_rate=0.0)
    _, realized = acct.fill("BTCUSD_PERP", -100.0, 50_000.0, fee_rate=0.0)
    # qty x contract size x (1/entry - 1/exit) = 100 * 100 * (1/40,000 - 1/50,000) = 0.05 BTC
    assert realized == pytest.approx(100 * 100 * (1 / 40_000 - 1 / 50_000), abs=1e-15)
    assert acct.balance("binance-cm") == pytest.approx(1.05, abs=1e-15)
    assert acct.position("BTCUSD_PERP") == 0.0


def test_inverse_average_entry_is_harmonic():
    acct = Account([INV], {"binance-cm": 1.0})
    acct.fill("BTCUSD_PERP", 100.0, 40_000.0, fee_rate=0.0)
    acct.fill("BTCUSD_PERP", 100.0, 60_000.0, fee_rate=0.0)
    assert acct.entry_price("BTCUSD_PERP") == pytest.approx(48_000.0, rel=1e-15)


@pytest.mark.parametrize("lev", [10, 20, 50])
@pytest.mark.parametrize("side", [1, -1])
def test_linear_liquidation_in_kernel_at_formula_price(market_factory, lev, side):
    entry, size, mmr = 40_000.0, 0.25, 0.005
    wallet = size * entry / lev
    lp = liquidation_price_linear(side, size, entry, wallet, "flat") if mmr == 0.005 else None
    # hand formula: (WB - side*size*EP) / (size*MMR - side*size)
    hand = (wallet - side * size * entry) / (size * mmr - side * size)
    assert lp == pytest.approx(hand, rel=1e-12)
    move = (lp - entry) / entry
    # a path that walks towards the liquidation price and crosses it inside bar 6
    frac = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.05, 1.2, 1.3, 1.3])
    close = entry * (1 + move * frac)
    adverse = entry * (1 + move * (frac + 0.02))
    prev = np.concatenate(([entry], close[:-1]))  # open = previous close
    low = np.minimum(np.minimum(close, prev), adverse if side > 0 else close)
    high = np.maximum(np.maximum(close, prev), adverse if side < 0 else close)
    m = market_factory(close, low=low, high=high)
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="venue",
                taker_fee=0.0,
                capital=wallet,
                tiers="flat",
                flat_mmr=mmr,
                liquidation_fee=0.005,
                leverage=lev,
            ),
        ),
        strategy=None,
        orders=ScriptedOrders(bar=[0], instrument=["PERP"], qty=[side * size]),
    )
    r = simulate(m, spec)
    liq = r.liquidations
    assert len(liq) == 1
    first_cross = int(np.argmax(low <= lp)) if side > 0 else int(np.argmax(high >= lp))
    assert liq["bar"].iloc[0] == first_cross
    assert liq["price"].iloc[0] == pytest.approx(lp, rel=1e-12)
    assert r.summary["failed"] is True
    assert r.summary["liquidations"] == 1
    # at the liquidation price equity equals maintenance; the fee (same rate) takes the rest
    assert r.summary["equity_end"] == pytest.approx(0.0, abs=1e-6)
    assert r.summary["max_abs_residual"] < 1e-9 * size * entry
    # the record is flat after the stop
    eq = r.equity["equity"].to_numpy()
    assert (eq[first_cross:] == eq[-1]).all()


@pytest.mark.parametrize("lev", [10, 20, 50])
def test_inverse_liquidation_price_matches_formula(lev):
    contracts, cs, entry, mmr = 100.0, 100.0, 40_000.0, 0.005
    size = contracts * cs
    wallet = size / entry / lev  # coin
    for side in (1, -1):
        lp = liquidation_price_inverse(side, size, entry, wallet, "flat")
        hand = (size * mmr + side * size) / (wallet + side * size / entry)
        assert lp == pytest.approx(hand, rel=1e-12)
        acct = Account([INV], {"binance-cm": wallet}, tiers={"binance-cm": "flat"})
        acct.fill("BTCUSD_PERP", side * contracts, entry, fee_rate=0.0)
        marks = {"BTCUSD_PERP": entry}
        assert acct.liquidation_price("BTCUSD_PERP", marks) == pytest.approx(lp, rel=1e-12)
        # at LP: equity (coin) == maintenance (coin)
        at = {"BTCUSD_PERP": lp}
        assert acct.equity("binance-cm", at) == pytest.approx(
            acct.maint_margin("binance-cm", at), rel=1e-9
        )


def test_continue_after_liquidation_keeps_running(market_factory):
    close = [100.0, 95.0, 80.0, 85.0, 90.0]
    low = [100.0, 95.0, 80.0, 80.0, 85.0]
    high = [100.0, 100.0, 95.0, 85.0, 90.0]
    m = market_factory(close, low=low, high=high)
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="venue",
                taker_fee=0.0,
                capital=100.0,
                tiers="flat",
                on_liquidation="continue",
                liquidation_fee=0.0,
            ),
        ),
        strategy=None,
        orders=ScriptedOrders(bar=[0, 3], instrument=["PERP", "PERP"], qty=[5.0, 0.1]),
    )
    r = simulate(m, spec)
    assert r.summary["failed"] is False
    assert r.summary["liquidations"] == 1
    assert list(r.trades["reason"]) == ["user", "liquidation", "user"]
    # LP = (100 - 5*100) / (5*0.005 - 5) = 80.4020...; what is left is the maintenance margin
    lp = -400 / (5 * 0.005 - 5)
    assert r.liquidations["price"].iloc[0] == pytest.approx(lp, rel=1e-12)
    assert r.equity["equity"].iloc[2] == pytest.approx(5 * lp * 0.005, rel=1e-9)
    assert r.summary["bars_run"] == 5
    assert r.summary["rejected_orders"] == 0


def test_order_beyond_initial_margin_is_rejected(market_factory):
    m = market_factory([100.0, 100.0, 100.0])
    spec = RunSpec(
        venues=(
            VenueSpec(name="venue", taker_fee=0.0, capital=100.0, tiers="flat", leverage=10.0),
        ),
        strategy=None,
        orders=ScriptedOrders(bar=[0, 1], instrument=["PERP", "PERP"], qty=[11.0, 10.0]),
    )
    r = simulate(m, spec)
    # 11 x 100 / 10x = 110 > 100 equity: rejected; 10 x 100 / 10 = 100 <= 100: filled
    assert r.summary["rejected_orders"] == 1
    assert list(r.trades["bar"]) == [1]


def test_account_rejects_bad_input():
    acct = Account([LIN], {"binance": 1.0})
    with pytest.raises(EngineError, match="price"):
        acct.fill("BTCUSDT", 1.0, -5.0)
    with pytest.raises(EngineError, match="unknown instrument 'ETH'"):
        acct.fill("ETH", 1.0, 5.0)
    with pytest.raises(EngineError, match="qty"):
        acct.fill("BTCUSDT", math.nan, 5.0)


def test_isolated_margin_liquidates_only_the_position(market_factory):
    entry, size, lev = 40_000.0, 0.25, 10.0
    lp = liquidation_price_linear(1, size, entry, size * entry / lev, "flat")  # 36,180.90...
    close = np.array([entry, 39_000.0, 37_500.0, 36_000.0, 36_500.0])
    m = market_factory(close)  # open = previous close, low = min(open, close)

    def run(mode):
        spec = RunSpec(
            venues=(
                VenueSpec(
                    name="venue",
                    taker_fee=0.0,
                    capital=10_000.0,
                    tiers="flat",
                    leverage=lev,
                    margin_mode=mode,
                    liquidation_fee=0.005,
                    on_liquidation="continue",
                ),
            ),
            strategy=None,
            orders=ScriptedOrders(bar=[0], instrument=["PERP"], qty=[size]),
        )
        return simulate(m, spec)

    iso = run("isolated")
    assert iso.summary["liquidations"] == 1
    assert iso.liquidations["bar"].iloc[0] == 3
    assert iso.liquidations["price"].iloc[0] == pytest.approx(lp, rel=1e-12)
    # the position loses its isolated margin (1,000 USDT) less nothing: maint at LP pays the
    # fee at the same rate; the rest of the wallet is untouched
    assert iso.summary["equity_end"] == pytest.approx(9_000.0, abs=1e-6)
    cross = run("cross")  # the whole 10,000 wallet backs the position: no liquidation
    assert cross.summary["liquidations"] == 0
    assert cross.summary["equity_end"] == pytest.approx(10_000 + size * (36_500 - entry))


def test_inverse_liquidation_in_kernel(market_factory):
    contracts, cs, entry, lev = 100.0, 100.0, 40_000.0, 20.0
    wallet = contracts * cs / entry / lev  # 0.0125 BTC
    lp = liquidation_price_inverse(1, contracts * cs, entry, wallet, "flat")
    hand = (contracts * cs * 0.005 + contracts * cs) / (wallet + contracts * cs / entry)
    assert lp == pytest.approx(hand, rel=1e-12)
    close = np.array([entry, 39_500.0, 38_800.0, 38_000.0, 37_000.0])
    m = market_factory(close, kind="perp_inverse", cs=cs)
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="venue",
                taker_fee=0.0,
                capital=wallet,
                tiers="flat",
                leverage=lev,
                liquidation_fee=0.0,
            ),
        ),
        strategy=None,
        orders=ScriptedOrders(bar=[0], instrument=["PERP"], qty=[contracts]),
    )
    r = simulate(m, spec)
    first = int(np.argmax(np.minimum(close, np.concatenate(([entry], close[:-1]))) <= lp))
    assert r.liquidations["bar"].iloc[0] == first
    assert r.liquidations["price"].iloc[0] == pytest.approx(lp, rel=1e-12)
    # left in the coin wallet: the maintenance margin at LP, valued at the index (close)
    left_coin = contracts * cs / lp * 0.005
    assert r.summary["equity_end"] == pytest.approx(left_coin * close[first], rel=1e-9)


def test_strategy_does_not_open_options_it_cannot_margin(market_factory):
    from gammaperp.engine import StraddleSpec

    close = 30_000.0 * np.exp(np.linspace(0.0, 0.3, 400))  # a rally against a short straddle
    m = market_factory(close, iv=0.8)
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="venue",
                taker_fee=0.0,
                capital=9_000.0,
                tiers="flat",
                on_liquidation="continue",
            ),
        ),
        strategy=StraddleSpec(instrument="PERP", hedge_instrument=None, side=-1, expiry_days=30),
    )
    r = simulate(m, spec)
    # initial margin of 1 short ATM straddle at 30,000: 2 x (0.15 x 30,000 + mark) > 9,000
    assert r.summary["n_option_rolls"] == 0
    assert r.summary["liquidations"] == 0
    assert r.summary["rejected_orders"] == 1  # one refused stretch, not one per bar
    ok = simulate(
        m,
        RunSpec(
            venues=(
                VenueSpec(
                    name="venue",
                    taker_fee=0.0,
                    capital=40_000.0,
                    tiers="flat",
                    on_liquidation="continue",
                ),
            ),
            strategy=spec.strategy,
        ),
    )
    assert ok.summary["n_option_rolls"] == 1
    assert ok.summary["rejected_orders"] == 0
