"""``run_spec``: every strategy kind and the [risk] table map to the engine specs field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gammaperp.api import run_spec, strategy_spec
from gammaperp.config import ExperimentConfig, load_config, validate_config
from gammaperp.engine.specs import (
    CarrySpec,
    ExecutionSpec,
    PairSpec,
    RiskSpec,
    ScalpSpec,
    StraddleSpec,
    VenueSpec,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def spec_of(name: str):
    return run_spec(load_config(EXAMPLES / name))


def test_default_config_maps_to_the_original_straddle_spec():
    spec = run_spec(ExperimentConfig())
    assert spec.strategy == StraddleSpec(
        instrument="BTCUSDT",
        venue="binance",
        side=1,
        quantity=1.0,
        expiry_days=30.0,
        roll_days_before=0.0,
        call_moneyness=1.0,
        put_moneyness=1.0,
        strike_step=0.0,
        settlement="linear",
        option_fee=0.0,
        model="bs",
        rate=0.0,
        carry=0.0,
        hedge_instrument="BTCUSDT",
        hedge_venue="binance",
        band=0.05,
        target="zero",
        order_type="market",
        limit_offset=0.0,
        triggers=("band",),
        call_delta=0.0,
        put_delta=0.0,
        premium_budget=0.0,
    )
    assert spec.risk == RiskSpec()
    assert spec.venues == (VenueSpec(),)
    assert spec.execution == ExecutionSpec(seed=7)
    assert spec.orders is None


def test_short_gamma_eth_example():
    st = spec_of("short_gamma_eth.toml").strategy
    assert isinstance(st, StraddleSpec)
    assert (st.instrument, st.venue, st.hedge_instrument, st.hedge_venue) == (
        "ETHUSDT",
        "binance",
        "ETHUSDT",
        "binance",
    )
    assert (st.side, st.quantity, st.expiry_days, st.roll_days_before) == (-1, 20.0, 14.0, 1.0)
    assert (st.band, st.option_fee) == (1.0, 3.0 * 1e-4)
    assert (st.call_delta, st.put_delta, st.premium_budget) == (0.0, 0.0, 0.0)


def test_strangle_by_delta_and_premium_budget():
    st = spec_of("strangle_delta25_budget.toml").strategy
    assert (st.side, st.call_delta, st.put_delta, st.premium_budget) == (1, 0.25, 0.25, 5000.0)
    assert (st.call_moneyness, st.put_moneyness, st.quantity) == (1.0, 1.0, 1.0)
    assert (st.expiry_days, st.roll_days_before, st.band) == (30.0, 7.0, 0.1)


def test_strangle_by_moneyness():
    cfg = validate_config(
        {
            "strategy": {
                "side": "short",
                "strike": "moneyness",
                "call_moneyness": 1.1,
                "put_moneyness": 0.85,
                "quantity": 3.0,
            }
        }
    )
    st = strategy_spec(cfg)
    assert (st.side, st.quantity, st.call_moneyness, st.put_moneyness) == (-1, 3.0, 1.1, 0.85)
    assert (st.call_delta, st.put_delta, st.premium_budget) == (0.0, 0.0, 0.0)


def test_cash_and_carry_example():
    assert spec_of("cash_and_carry_btc.toml").strategy == CarrySpec(
        long_instrument="BTC/USDT",
        short_instrument="BTCUSDT",
        long_venue="binance",
        short_venue="binance",
        quantity=1.0,
        entry_apr=0.10,
        exit_apr=0.0,
        on_adverse="exit",
        direction="long_short",
        rebalance_tol=0.1,
    )


def test_two_venue_carry_example():
    spec = spec_of("funding_carry_binance_bybit.toml")
    assert spec.strategy == CarrySpec(
        long_instrument="BTCUSDT",
        short_instrument="BTCUSDT",
        long_venue="binance",
        short_venue="bybit",
        quantity=1.0,
        entry_apr=0.30,
        exit_apr=0.30,
        on_adverse="flip",
        direction="both",
        rebalance_tol=0.1,
    )
    assert spec.venues == (
        VenueSpec(
            name="binance",
            taker_fee=4e-4,
            maker_fee=2e-4,
            leverage=5.0,
            capital=50_000.0,
            tiers="binance-usdm-btc",
        ),
        VenueSpec(
            name="bybit",
            taker_fee=7.5e-4,
            maker_fee=-2.5e-4,
            leverage=5.0,
            capital=50_000.0,
            tiers="binance-usdm-btc",
        ),
    )


def test_pair_examples():
    want = PairSpec(
        long_instrument="ETHUSDT",
        hedge_instrument="BTCUSDT",
        long_venue="binance",
        hedge_venue="binance",
        side=1,
        notional=20_000.0,
        window=168,
        return_bars=60,
        drift_tol=0.1,
    )
    assert spec_of("pair_eth_btc.toml").strategy == want
    assert spec_of("pair_eth_btc_synthetic.toml").strategy == want
    short = validate_config(
        {
            "instruments": [{"name": "ETHUSDT", "beta": 1.0}],
            "strategy": {
                "kind": "pair",
                "instrument": "ETHUSDT",
                "hedge_instrument": "BTCUSDT",
                "side": "short",
                "notional": 5000,
                "window": 24,
                "return_bars": 15,
                "drift_tol": 0.25,
            },
        }
    )
    assert strategy_spec(short) == PairSpec(
        long_instrument="ETHUSDT",
        hedge_instrument="BTCUSDT",
        long_venue="binance",
        hedge_venue="binance",
        side=-1,
        notional=5000.0,
        window=24,
        return_bars=15,
        drift_tol=0.25,
    )


def test_scalp_example_and_default_instrument():
    spec = spec_of("scalp_btc.toml")
    assert spec.strategy == ScalpSpec(
        instrument="BTCUSDT",
        venue="binance",
        quantity=0.01,
        max_inventory=0.05,
        centre_bars=60,
        band_pct=0.003,
        order_type="limit",
    )
    assert spec.execution.latency_ms == 100.0
    cfg = validate_config(
        {
            "venues": [{"name": "a"}, {"name": "b"}],
            "strategy": {"kind": "scalp", "venue": "b", "order_type": "market"},
        }
    )
    assert strategy_spec(cfg) == ScalpSpec(instrument="BTCUSDT", venue="b", order_type="market")


def test_legs_resolve_to_explicit_venues():
    cfg = validate_config(
        {
            "venues": [{"name": "a"}, {"name": "b", "perp_symbol": "BTC-PERPETUAL"}],
            "strategy": {"kind": "carry", "long_leg": "BTCUSDT", "short_leg": "BTC-PERPETUAL"},
        }
    )
    st = strategy_spec(cfg)
    assert (st.long_instrument, st.long_venue, st.short_instrument, st.short_venue) == (
        "BTCUSDT",
        "a",
        "BTC-PERPETUAL",
        "b",
    )


def test_risk_table_maps_one_to_one():
    assert spec_of("risk_overlays.toml").risk == RiskSpec(
        stop_loss_pct=0.15,
        stop_cooldown_minutes=1440.0,
        margin_buffer_pct=0.1,
        margin_action="reduce",
        margin_reduce_fraction=0.5,
        vol_short_bars=30,
        vol_long_bars=1440,
        vol_k=3.0,
        vol_action="reduce",
        vol_reduce_factor=0.5,
        trend_fast_bars=60,
        trend_slow_bars=720,
        trend_threshold=0.02,
        trend_action="bias",
        trend_bias=0.3,
        max_position=5.0,
        max_notional=500_000.0,
    )
    every = {
        "stop_loss_pct": 0.2,
        "stop_cooldown_minutes": 30.0,
        "leg_stop_pct": 0.05,
        "leg_cooldown_minutes": 15.0,
        "margin_buffer_pct": 0.08,
        "margin_action": "transfer",
        "margin_reduce_fraction": 0.25,
        "vol_short_bars": 5,
        "vol_long_bars": 50,
        "vol_k": 2.5,
        "vol_action": "pause",
        "vol_reduce_factor": 0.75,
        "trend_fast_bars": 10,
        "trend_slow_bars": 100,
        "trend_threshold": 0.01,
        "trend_action": "pause",
        "trend_bias": 0.2,
        "hedge_bias": -0.2,
        "loss_streak": 3,
        "loss_pause_minutes": 120.0,
        "inventory_reset": 2.0,
        "max_position": 4.0,
        "max_notional": 1e6,
    }
    assert run_spec(validate_config({"risk": every})).risk == RiskSpec(**every)


@pytest.mark.parametrize(
    "name",
    [
        "long_gamma_synthetic.toml",
        "short_straddle.yaml",
        "long_gamma_btc_2021.toml",
        "short_gamma_eth.toml",
        "strangle_delta25_budget.toml",
        "risk_overlays.toml",
        "cash_and_carry_btc.toml",
        "funding_carry_binance_bybit.toml",
        "funding_carry_synthetic.toml",
        "pair_eth_btc.toml",
        "pair_eth_btc_synthetic.toml",
        "scalp_btc.toml",
    ],
)
def test_every_example_maps_to_a_spec(name):
    spec = spec_of(name)
    kinds = {
        "straddle": StraddleSpec,
        "carry": CarrySpec,
        "pair": PairSpec,
        "scalp": ScalpSpec,
    }
    cfg = load_config(EXAMPLES / name)
    assert type(spec.strategy) is kinds[cfg.strategy.kind]
    assert [v.name for v in spec.venues] == [v.name for v in cfg.venues]
    assert spec.execution.seed == cfg.seed
