"""Tests of gammaperp.engine.margin: brackets, maintenance margin, liquidation prices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from gammaperp.engine import margin as m
from gammaperp.errors import EngineError

BTC = "binance-usdm-btc"
ETH = "binance-usdm-eth"
COINM = "binance-coinm-btc"


def _maint(notional: float, table: str) -> float:
    return m.maint_margin(notional, table)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", m.TABLE_NAMES)
def test_tables_validate_and_are_fresh_copies(name):
    t = m.get_tiers(name)
    m.validate_tiers(t)
    assert all(a.dtype == np.float64 and a.flags.c_contiguous for a in t)
    t.mmr[0] = 0.9  # mutating a copy must not touch the registry
    assert m.get_tiers(name).mmr[0] != 0.9


@pytest.mark.parametrize("name", m.TABLE_NAMES)
def test_bracket_continuity(name):
    t = m.get_tiers(name)
    for i in range(1, t.n_brackets):
        edge = t.notional_floor[i]
        below = edge * t.mmr[i - 1] - t.maint_amount[i - 1]
        above = edge * t.mmr[i] - t.maint_amount[i]
        assert above == pytest.approx(below, rel=1e-12)
        # and through the public function, just either side of the boundary
        lo = _maint(edge * (1 - 1e-12), name)
        hi = _maint(edge * (1 + 1e-12), name)
        assert hi == pytest.approx(lo, rel=1e-9)


def test_derived_maint_amounts_equal_published_cum():
    # Binance leverageBracket "cum" values of the snapshot the tables come from.
    btc = [0, 50, 950, 11_450, 131_450, 481_450, 2_981_450, 14_481_450, 26_481_450,
           41_481_450, 121_481_450, 421_481_450]  # fmt: skip
    eth = [0, 50, 950, 11_450, 131_450, 381_450, 2_006_450, 9_506_450, 17_506_450,
           27_506_450, 80_506_450, 280_506_450]  # fmt: skip
    np.testing.assert_allclose(m.get_tiers(BTC).maint_amount, btc, rtol=1e-12)
    np.testing.assert_allclose(m.get_tiers(ETH).maint_amount, eth, rtol=1e-12)
    # COIN-M: 0, 5*(0.005-0.004)=0.005, +10*0.005=0.055, +20*0.015=0.355, +50*0.025=1.605, ...
    coinm = [0.0, 0.005, 0.055, 0.355, 1.605, 6.605, 11.605, 21.605, 121.605]
    np.testing.assert_allclose(m.get_tiers(COINM).maint_amount, coinm, rtol=1e-12)


def test_historical_2021_btcusdt_table():
    # Binance announcement 2021-03-18 (see docs/margin.md): cum by continuity 0, 50, 1,300,
    # 16,300 (the value Binance's own liquidation example uses for the 2.5 % bracket), ...
    t = m.make_tiers(
        [5e4, 2.5e5, 1e6, 1e7, 2e7, 5e7, 1e8, 2e8, 3e8, 5e8],
        [125, 100, 50, 20, 10, 5, 4, 3, 2, 1],
        [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50],
    )
    expected = [0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300, 25_016_300,
                100_016_300]  # fmt: skip
    np.testing.assert_allclose(t.maint_amount, expected, rtol=1e-12)
    # Binance's example: 3,500,032.458 * 2.5 % - 16,300 = 71,200.81145
    assert m.maint_margin(3_500_032.458, t) == pytest.approx(71_200.81145, rel=1e-12)


def test_flat_table():
    t = m.get_tiers("flat", flat_mmr=0.01)
    assert t.n_brackets == 1
    assert t.notional_cap[0] == math.inf
    assert t.max_leverage[0] == 50.0
    assert m.maint_margin(1e12, t) == pytest.approx(1e10)
    assert m.get_tiers("flat").mmr[0] == 0.005


@pytest.mark.parametrize(
    ("notional", "table", "expected"),
    [
        (0.0, BTC, 0.0),
        (10_000.0, BTC, 40.0),  # 10,000 * 0.4 %
        (50_000.0, BTC, 200.0),  # cap is inclusive: still bracket 0
        (100_000.0, BTC, 450.0),  # 100,000 * 0.5 % - 50
        (1_000_000.0, BTC, 5_550.0),  # 1e6 * 0.65 % - 950
        (5_000_000.0, BTC, 38_550.0),  # 5e6 * 1 % - 11,450
        (100_000_000.0, BTC, 2_018_550.0),  # 1e8 * 2.5 % - 481,450
        (2_000_000_000.0, BTC, 578_518_550.0),  # above the last cap: last bracket extended
        (60_000_000.0, ETH, 1_118_550.0),  # 6e7 * 2.5 % - 381,450
        (7.0, COINM, 0.03),  # 7 BTC * 0.5 % - 0.005
        (30.0, COINM, 0.395),  # 30 BTC * 2.5 % - 0.355
    ],
)
def test_maint_margin_known_notionals(notional, table, expected):
    assert m.maint_margin(notional, table) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_bracket_index_and_leverage():
    assert m.bracket_index(0.0, BTC) == 0
    assert m.bracket_index(50_000.0, BTC) == 0
    assert m.bracket_index(50_000.01, BTC) == 1
    assert m.bracket_index(5e9, BTC) == 11
    assert m.max_leverage_ok(40_000.0, 125.0, BTC)
    assert not m.max_leverage_ok(60_000.0, 125.0, BTC)
    assert m.max_leverage_ok(60_000.0, 100.0, BTC)
    assert not m.max_leverage_ok(2e9, 1.0, BTC)  # beyond the position limit
    assert m.max_leverage_ok(1e6, 2.0, COINM)  # COIN-M last bracket is uncapped
    assert m.initial_margin(30_000.0, 20.0) == 1_500.0


def test_margin_ratio_liquidatable_fee():
    assert m.margin_ratio(50.0, 100.0) == 0.5
    assert m.margin_ratio(0.0, -5.0) == 0.0
    assert m.margin_ratio(10.0, 0.0) == math.inf
    assert m.is_liquidatable(100.0, 100.0)
    assert m.is_liquidatable(-1.0, 5.0)
    assert not m.is_liquidatable(100.01, 100.0)
    assert not m.is_liquidatable(0.0, 0.0)  # nothing to maintain
    assert m.liquidation_fee(30_000.0, 0.0125) == pytest.approx(375.0)


# --------------------------------------------------------------------------------------------
# Liquidation prices: linear
# --------------------------------------------------------------------------------------------

EP = 30_000.0


@pytest.mark.parametrize(
    ("side", "leverage", "pinned"),
    [
        (1, 10, 27_108.433734939757),
        (1, 20, 28_614.457831325301),
        (1, 50, 29_518.072289156626),
        (-1, 10, 32_868.525896414343),
        (-1, 20, 31_374.501992031874),
        (-1, 50, 30_478.087649402390),
    ],
)
def test_linear_isolated_lp(side, leverage, pinned):
    size = 1.0  # 1 BTC at 30,000: notional 30,000 -> bracket 0 (MMR 0.4 %, cum 0)
    wb = size * EP / leverage
    # LP = (WB - TMM1 + UPNL1 + cumB - side*size*EP) / (size*MMR - side*size)
    # e.g. long 10x: (3,000 - 0 + 0 + 0 - 30,000) / (0.004 - 1) = -27,000 / -0.996
    #              = 27,108.4337349...
    # short 10x:    (3,000 + 30,000) / (0.004 + 1) = 33,000 / 1.004 = 32,868.5258964...
    by_hand = (wb - 0.0 + 0.0 + 0.0 - side * size * EP) / (size * 0.004 - side * size)
    lp = m.liquidation_price_linear(side, size, EP, wb, BTC)
    assert lp == pytest.approx(by_hand, rel=1e-12)
    assert lp == pytest.approx(pinned, rel=1e-12)
    assert m.bracket_index(size * lp, BTC) == 0
    # self-consistency: equity at LP == maintenance margin at LP
    equity = wb + side * size * (lp - EP)
    assert equity == pytest.approx(m.maint_margin(size * lp, BTC), rel=1e-9)


def test_linear_lp_with_maintenance_amount():
    # 10 BTC at 30,000 = 300,000 USDT -> bracket 1 (MMR 0.5 %, cum 50); long 10x, WB 30,000
    # LP = (30,000 + 50 - 300,000) / (10*0.005 - 10) = -269,950 / -9.95 = 27,130.6532663...
    lp = m.liquidation_price_linear(1, 10.0, EP, 30_000.0, BTC)
    assert lp == pytest.approx(269_950.0 / 9.95, rel=1e-12)
    assert m.bracket_index(10.0 * lp, BTC) == 1


def test_linear_short_moves_up_a_bracket():
    # short 20 BTC at 30,000 = 600,000 (bracket 1, cap inclusive) at 2x: WB 300,000.
    # bracket 1 would give (300,000 + 50 + 600,000) / 20.1 = 44,778.6 -> notional 895,572
    # > 600,000, so bracket 2 (MMR 0.65 %, cum 950): 900,950 / 20.13 = 44,756.58...
    lp = m.liquidation_price_linear(-1, 20.0, EP, 300_000.0, BTC)
    assert lp == pytest.approx(900_950.0 / 20.13, rel=1e-12)
    assert m.bracket_index(20.0 * lp, BTC) == 2
    equity = 300_000.0 - 20.0 * (lp - EP)
    assert equity == pytest.approx(m.maint_margin(20.0 * lp, BTC), rel=1e-9)


def test_linear_long_moves_down_a_bracket():
    # long 110 BTC at 30,000 = 3.3M (bracket 3, 1 %, cum 11,450) at 2x: WB 1.65M.
    # bracket 3 gives 1,638,550 / 108.9 = 15,046 -> notional 1.655M < 3M: bracket 2
    # (0.65 %, cum 950): (1,650,000 + 950 - 3,300,000) / (0.715 - 110) = 15,089.45...
    lp = m.liquidation_price_linear(1, 110.0, EP, 1_650_000.0, BTC)
    assert lp == pytest.approx(1_649_050.0 / 109.285, rel=1e-12)
    assert m.bracket_index(110.0 * lp, BTC) == 2
    equity = 1_650_000.0 + 110.0 * (lp - EP)
    assert equity == pytest.approx(m.maint_margin(110.0 * lp, BTC), rel=1e-9)


def test_linear_cross_lp_with_other_position():
    # cross wallet 10,000 USDT; another position (ETHUSDT, notional 100,000) has
    # TMM1 = 100,000 * 0.5 % - 50 = 450 and UPNL1 = -1,200. Long 1 BTC at 30,000:
    # LP = (10,000 - 450 - 1,200 + 0 - 30,000) / (0.004 - 1) = 21,650 / 0.996 = 21,736.947...
    tmm1 = m.maint_margin(100_000.0, ETH)
    assert tmm1 == pytest.approx(450.0)
    lp = m.liquidation_price_linear(1, 1.0, EP, 10_000.0, BTC, other_maint=tmm1, other_upnl=-1200)
    assert lp == pytest.approx(21_650.0 / 0.996, rel=1e-12)
    # at LP the whole cross account is at its maintenance: WB + UPNL1 + upnl = TMM1 + MM
    assert 10_000.0 - 1_200.0 + (lp - EP) == pytest.approx(tmm1 + _maint(lp, BTC), rel=1e-9)
    # isolated with the same wallet would be further away
    assert m.liquidation_price_linear(1, 1.0, EP, 10_000.0, BTC) < lp


def test_linear_edge_cases():
    # fully collateralised long (WB >= notional): never liquidated at a positive price
    assert m.liquidation_price_linear(1, 1.0, EP, 40_000.0, BTC) == 0.0
    assert m.liquidation_price_linear(1, 1.0, EP, 30_000.0, BTC) == 0.0
    # a short whose wallet is already below maintenance: liquidatable at any price
    assert m.liquidation_price_linear(-1, 1.0, EP, 0.0, BTC) == pytest.approx(30_000 / 1.004)
    # no position: no liquidation price
    assert math.isnan(m.liquidation_price_linear_nb(1.0, 0.0, EP, 1.0, 0.0, 0.0, *_arrays(BTC)))
    assert math.isnan(m.liquidation_price_inverse_nb(1.0, 0.0, EP, 1.0, 0.0, 0.0, *_arrays(COINM)))


def _arrays(name):
    t = m.get_tiers(name)
    return t.notional_floor, t.notional_cap, t.mmr, t.maint_amount


# --------------------------------------------------------------------------------------------
# Liquidation prices: inverse
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "leverage", "pinned"),
    [
        (1, 10, 27_381.818181818182),
        (1, 20, 28_685.714285714286),
        (1, 50, 29_529.411764705882),
        (-1, 10, 33_200.0),
        (-1, 20, 31_452.631578947368),
        (-1, 50, 30_489.795918367347),
    ],
)
def test_inverse_isolated_lp(side, leverage, pinned):
    contracts, contract_size = 300, 100.0
    size = contracts * contract_size  # 30,000 USD = 1 BTC at 30,000 -> bracket 0 (0.4 %, 0)
    wb = size / EP / leverage  # BTC
    # LP = (size*MMR + side*size) / (WB + cumB + side*size/EP)
    # e.g. long 10x: (30,000*0.004 + 30,000) / (0.1 + 0 + 1) = 30,120 / 1.1 = 27,381.818...
    # short 10x:    (120 - 30,000) / (0.1 - 1) = -29,880 / -0.9 = 33,200
    by_hand = (size * 0.004 + side * size) / (wb + 0.0 + side * size / EP)
    lp = m.liquidation_price_inverse(side, size, EP, wb, COINM)
    assert lp == pytest.approx(by_hand, rel=1e-12)
    assert lp == pytest.approx(pinned, rel=1e-12)
    assert m.bracket_index(size / lp, COINM) == 0
    equity = wb + side * size * (1.0 / EP - 1.0 / lp)  # BTC
    assert equity == pytest.approx(m.maint_margin(size / lp, COINM), rel=1e-9)


def test_inverse_moves_bracket_and_cross():
    # long 4.5 BTC of contracts (135,000 USD at 30,000), bracket 0; 2x -> LP ~ 20,000 where the
    # coin notional 135,000/20,000 = 6.7 BTC is in bracket 1 (0.5 %, cum 0.005):
    # LP = (135,000*0.005 + 135,000) / (2.25 + 0.005 + 4.5) = 135,675 / 6.755
    size = 135_000.0
    lp = m.liquidation_price_inverse(1, size, EP, 2.25, COINM)
    assert lp == pytest.approx(135_675.0 / 6.755, rel=1e-12)
    assert m.bracket_index(size / lp, COINM) == 1
    assert 2.25 + size * (1 / EP - 1 / lp) == pytest.approx(_maint(size / lp, COINM), rel=1e-9)
    # cross: other BTC-margined positions' TMM1 / UPNL1 (in BTC) enter the denominator
    lp_x = m.liquidation_price_inverse(
        -1, 30_000.0, EP, 0.5, COINM, other_maint=0.01, other_upnl=-0.09
    )
    # (120 - 30,000) / (0.5 - 0.01 - 0.09 + 0 - 1) = -29,880 / -0.6 = 49,800
    assert lp_x == pytest.approx(49_800.0, rel=1e-12)


def test_inverse_short_fully_collateralised_is_never_liquidated():
    assert m.liquidation_price_inverse(-1, 30_000.0, EP, 1.0, COINM) == math.inf


# --------------------------------------------------------------------------------------------
# Property: self-consistency with bracket crossing
# --------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    side=st.sampled_from([1, -1]),
    notional=st.floats(1e3, 1.2e9),
    u=st.floats(0.0, 1.0),
    entry=st.floats(100.0, 100_000.0),
    table=st.sampled_from([BTC, ETH]),
)
def test_linear_lp_self_consistent(side, notional, u, entry, table):
    # any leverage the bracket allows (above 1.05x, so that a long has a positive LP)
    t = m.get_tiers(table)
    max_lev = t.max_leverage[m.bracket_index(notional, t)]
    leverage = 1.05 + u * max(max_lev - 1.05, 0.0)
    size = notional / entry
    wb = notional / leverage
    lp = m.liquidation_price_linear(side, size, entry, wb, table)
    assert lp > 0.0
    equity = wb + side * size * (lp - entry)
    # abs: equity is a difference of terms of size ~notional (cancellation)
    mm = m.maint_margin(size * lp, table)
    assert equity == pytest.approx(mm, rel=1e-9, abs=1e-12 * notional)
    if side == 1:
        assert lp < entry
    else:
        assert lp > entry


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    side=st.sampled_from([1, -1]),
    coin_notional=st.floats(0.01, 5_000.0),
    u=st.floats(0.0, 1.0),
    entry=st.floats(1_000.0, 100_000.0),
)
def test_inverse_lp_self_consistent(side, coin_notional, u, entry):
    t = m.get_tiers(COINM)
    max_lev = t.max_leverage[m.bracket_index(coin_notional, t)]
    leverage = 1.05 + u * max(max_lev - 1.05, 0.0)
    size = coin_notional * entry
    wb = coin_notional / leverage
    lp = m.liquidation_price_inverse(side, size, entry, wb, COINM)
    assert 0.0 < lp < math.inf
    equity = wb + side * size * (1.0 / entry - 1.0 / lp)
    mm = m.maint_margin(size / lp, COINM)
    assert equity == pytest.approx(mm, rel=1e-9, abs=1e-12 * coin_notional)
    if side == 1:
        assert lp < entry
    else:
        assert lp > entry


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


def test_short_option_margin():
    S = 30_000.0
    # OTM call K=33,000: OTM/S = 0.1 -> max(0.05, 0.10) = 0.10 -> 3,000 + mark
    assert m.short_option_margin(True, S, 33_000.0, 120.0, True) == pytest.approx(3_120.0)
    # OTM call K=31,000: 0.15 - 1,000/30,000 = 0.11667 -> 3,500 + mark
    assert m.short_option_margin(True, S, 31_000.0, 500.0, True) == pytest.approx(4_000.0)
    # ITM put K=31,000 (OTM = 0): 0.15 * 30,000 + 1,400 = 5,900
    assert m.short_option_margin(False, S, 31_000.0, 1_400.0, True) == pytest.approx(5_900.0)
    # OTM put K=27,000: 0.15 - 0.1 = 0.05 -> floored at 0.10 -> 3,000 + 80
    assert m.short_option_margin(False, S, 27_000.0, 80.0, True) == pytest.approx(3_080.0)
    # maintenance: 0.075 * S + mark, whatever the moneyness
    assert m.short_option_margin(True, S, 40_000.0, 10.0, False) == pytest.approx(2_260.0)
    # position helper: long -> 0, short 2 -> twice the unit margin
    assert m.option_margin_nb(1.0, True, S, 33_000.0, 120.0, True) == 0.0
    assert m.option_margin_nb(-2.0, True, S, 33_000.0, 120.0, True) == pytest.approx(6_240.0)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: m.liquidation_price_linear(0, 1.0, EP, 100.0), "side"),
        (lambda: m.liquidation_price_linear(2, 1.0, EP, 100.0), "side"),
        (lambda: m.liquidation_price_linear(True, 1.0, EP, 100.0), "side"),
        (lambda: m.liquidation_price_linear(1, 0.0, EP, 100.0), "size"),
        (lambda: m.liquidation_price_linear(1, -1.0, EP, 100.0), "size"),
        (lambda: m.liquidation_price_linear(1, 1.0, 0.0, 100.0), "entry_price"),
        (lambda: m.liquidation_price_linear(1, 1.0, math.nan, 100.0), "entry_price"),
        (lambda: m.liquidation_price_linear(1, 1.0, EP, -1.0), "wallet_balance"),
        (lambda: m.liquidation_price_linear(1, 1.0, EP, math.inf), "wallet_balance"),
        (lambda: m.liquidation_price_linear(1, 1.0, EP, 1.0, other_maint=-1.0), "other_maint"),
        (lambda: m.liquidation_price_linear(1, 1.0, EP, 1.0, other_upnl=math.nan), "other_upnl"),
        (lambda: m.liquidation_price_linear(1, 1.0, EP, 1.0, "bogus-table"), "bogus-table"),
        (lambda: m.liquidation_price_linear(1, 1.0, EP, 1.0, 42), "tiers"),
        (lambda: m.liquidation_price_inverse(1, "1", EP, 1.0), "size"),
        (lambda: m.liquidation_price_inverse(-3, 1.0, EP, 1.0), "side"),
        (lambda: m.maint_margin(-1.0, BTC), "notional_abs"),
        (lambda: m.initial_margin(100.0, 0.5), "leverage"),
        (lambda: m.max_leverage_ok(100.0, math.nan, BTC), "leverage"),
        (lambda: m.liquidation_fee(100.0, -0.1), "fee_rate"),
        (lambda: m.margin_ratio(-1.0, 10.0), "maint"),
        (lambda: m.is_liquidatable(math.nan, 1.0), "equity"),
        (lambda: m.short_option_margin(True, 0.0, 1.0, 1.0, True), "S"),
        (lambda: m.short_option_margin(True, 1.0, -1.0, 1.0, True), "K"),
        (lambda: m.short_option_margin(True, 1.0, 1.0, -1.0, True), "mark"),
        (lambda: m.short_option_margin(1, 1.0, 1.0, 1.0, True), "is_call"),
        (lambda: m.get_tiers("nope"), "nope"),
        (lambda: m.get_tiers("flat", flat_mmr=0.0), "flat_mmr"),
        (lambda: m.get_tiers("flat", flat_mmr=1.0), "flat_mmr"),
        (lambda: m.make_tiers([10.0, 5.0], [10.0, 5.0], [0.01, 0.02]), "notional_cap"),
        (lambda: m.make_tiers([10.0, 20.0], [10.0, 5.0], [0.02, 0.01]), "mmr"),
        (lambda: m.make_tiers([10.0, 20.0], [10.0], [0.01, 0.02]), "max_leverage"),
    ],
)
def test_invalid_inputs_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg) as info:
        call()
    assert isinstance(info.value, EngineError)


def test_validate_tiers_rejects_discontinuous_amounts():
    t = m.get_tiers(BTC)
    bad = t._replace(maint_amount=t.maint_amount.copy())
    bad.maint_amount[3] += 1.0
    with pytest.raises(ValueError, match=r"maint_amount\[3\]"):
        m.validate_tiers(bad)


# --------------------------------------------------------------------------------------------
# numba: callable from another @njit function
# --------------------------------------------------------------------------------------------


@njit
def _kernel_like(closes, qty, entry, wallet, floor, cap, mmr, amt, max_lev):
    out = np.empty((closes.shape[0], 6))
    for i in range(closes.shape[0]):
        notional = abs(qty) * closes[i]
        maint = m.maint_margin_nb(notional, floor, cap, mmr, amt)
        equity = wallet + qty * (closes[i] - entry)
        out[i, 0] = maint
        out[i, 1] = m.is_liquidatable_nb(equity, maint)
        out[i, 2] = m.liquidation_price_linear_nb(
            1.0, abs(qty), entry, wallet, 0.0, 0.0, floor, cap, mmr, amt
        )
        out[i, 3] = m.margin_ratio_nb(maint, equity) + m.liquidation_fee_nb(notional, 0.0)
        out[i, 4] = m.bracket_index_nb(notional, cap) + m.max_leverage_ok_nb(
            notional, 20.0, cap, max_lev
        )
        out[i, 5] = m.initial_margin_nb(notional, 20.0) + m.option_margin_nb(
            -1.0, True, closes[i], 30_000.0, 10.0, False
        )
    return out


def test_njit_callable_from_njit():
    t = m.get_tiers(BTC)
    closes = np.array([30_000.0, 28_000.0, 27_000.0])
    out = _kernel_like(
        closes,
        1.0,
        EP,
        3_000.0,
        t.notional_floor,
        t.notional_cap,
        t.mmr,
        t.maint_amount,
        t.max_leverage,
    )
    lp = m.liquidation_price_linear(1, 1.0, EP, 3_000.0, t)
    np.testing.assert_allclose(out[:, 2], lp)
    np.testing.assert_allclose(out[:, 0], 0.004 * closes)
    # liquidatable once the price is at/below LP = 27,108.43
    assert out[:, 1].tolist() == [0.0, 0.0, 1.0]
    assert out[0, 4] == 1.0  # bracket 0 + leverage 20 ok
    assert out[0, 5] == pytest.approx(1_500.0 + 0.075 * 30_000.0 + 10.0)
    lp_inv = m.liquidation_price_inverse_nb(1.0, 30_000.0, EP, 0.1, 0.0, 0.0, *_arrays(COINM))
    assert lp_inv == pytest.approx(30_120.0 / 1.1)
