"""Strategy templates (straddle / strangle, carry, pair, scalp), extra instruments, per-venue
funding and the [risk] table: validation, error messages and the shipped examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli_helpers import run_main
from gammaperp.config import (
    CarryConfig,
    ExperimentConfig,
    InstrumentConfig,
    PairConfig,
    RiskConfig,
    ScalpConfig,
    StraddleConfig,
    load_config,
    validate_config,
)
from gammaperp.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "data"
TEMPLATE_EXAMPLES = [
    "cash_and_carry_btc.toml",
    "funding_carry_binance_bybit.toml",
    "funding_carry_synthetic.toml",
    "pair_eth_btc.toml",
    "pair_eth_btc_synthetic.toml",
    "risk_overlays.toml",
    "scalp_btc.toml",
    "short_gamma_eth.toml",
    "strangle_delta25_budget.toml",
]

SPOT = {"name": "BTC/USDT", "kind": "spot"}
TWO_VENUES = [{"name": "binance"}, {"name": "bybit"}]


def problems(data: dict, source: str = "x.toml") -> list[str]:
    with pytest.raises(ConfigError) as exc:
        validate_config(data, source=source)
    return str(exc.value).splitlines()


def carry(**kw) -> dict:
    return {"kind": "carry", "long_leg": "BTCUSDT", "short_leg": "BTCUSDT", **kw}


# --------------------------------------------------------------------------------------------
# examples


@pytest.mark.parametrize("name", TEMPLATE_EXAMPLES)
def test_template_example_validates_with_the_cli(capsys, name):
    assert run_main(capsys, "config", "validate", str(EXAMPLES / name)) == (0, "ok\n", "")


def test_example_kinds():
    kinds = {name: type(load_config(EXAMPLES / name).strategy) for name in TEMPLATE_EXAMPLES}
    assert kinds == {
        "cash_and_carry_btc.toml": CarryConfig,
        "funding_carry_binance_bybit.toml": CarryConfig,
        "funding_carry_synthetic.toml": CarryConfig,
        "pair_eth_btc.toml": PairConfig,
        "pair_eth_btc_synthetic.toml": PairConfig,
        "risk_overlays.toml": StraddleConfig,
        "scalp_btc.toml": ScalpConfig,
        "short_gamma_eth.toml": StraddleConfig,
        "strangle_delta25_budget.toml": StraddleConfig,
    }


def test_real_data_examples_point_at_existing_shared_files():
    for name in TEMPLATE_EXAMPLES:
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        for written in re.findall(r'"([^"]+\.csv\.gz)"', text):  # relative, into the data set
            assert written.startswith("../../shared/data/"), (name, written)
        cfg = load_config(EXAMPLES / name)
        paths = [cfg.market.ohlcv, cfg.market.funding, cfg.market.iv]
        paths += [v.funding for v in cfg.venues] + [x.ohlcv for x in cfg.instruments]
        paths += [x.funding for x in cfg.instruments]
        for path in filter(None, paths):
            assert path.is_relative_to(SHARED), (name, path)
            assert ".." not in path.parts
            if SHARED.is_dir():
                assert path.is_file(), path


def test_strangle_example_values():
    st = load_config(EXAMPLES / "strangle_delta25_budget.toml").strategy
    assert st == StraddleConfig(
        side="long",
        strike="delta",
        call_delta=0.25,
        put_delta=0.25,
        size_by="premium",
        premium_budget=5000.0,
        expiry_days=30.0,
        roll_days_before=7.0,
        option_fee_bps=3.0,
    )


def test_cash_and_carry_example_values():
    cfg = load_config(EXAMPLES / "cash_and_carry_btc.toml")
    assert cfg.instruments == (
        InstrumentConfig(
            name="BTC/USDT", venue="binance", kind="spot", tick_size=0.01, lot_size=0.00001
        ),
    )
    assert cfg.strategy == CarryConfig(
        long_leg="BTC/USDT",
        short_leg="BTCUSDT",
        quantity=1.0,
        entry_apr=0.10,
        exit_apr=0.0,
        on_adverse="exit",
        direction="long_short",
    )
    legs = cfg.strategy_legs()
    assert [(r.name, r.venue, r.kind) for r in legs.values()] == [
        ("BTC/USDT", "binance", "spot"),
        ("BTCUSDT", "binance", "perp_linear"),
    ]


def test_two_venue_carry_examples_give_each_venue_its_funding():
    real = load_config(EXAMPLES / "funding_carry_binance_bybit.toml")
    assert [v.name for v in real.venues] == ["binance", "bybit"]
    assert [v.funding.name for v in real.venues] == [
        "binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz",
        "bybit_BTCUSDT_perp_funding_2021-01-01_2023-12-31.csv.gz",
    ]
    assert real.market.funding is None
    syn = load_config(EXAMPLES / "funding_carry_synthetic.toml")
    assert syn.market.source == "synthetic"
    assert [(v.funding_constant, v.funding_interval_hours) for v in syn.venues] == [
        (0.0001, None),
        (0.0003, 8.0),
    ]
    for cfg in (real, syn):
        legs = cfg.strategy_legs()
        assert (legs["long"].venue, legs["short"].venue) == ("binance", "bybit")


def test_risk_example_values():
    risk = load_config(EXAMPLES / "risk_overlays.toml").risk
    assert risk == RiskConfig(
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
        max_notional=500000.0,
    )


# --------------------------------------------------------------------------------------------
# straddle: strikes and sizing


def test_straddle_defaults_are_atm_by_quantity():
    st = StraddleConfig()
    assert (st.strike, st.size_by) == ("atm", "quantity")
    assert (st.call_moneyness, st.put_moneyness, st.call_delta, st.put_delta) == (None,) * 4
    assert st.premium_budget is None


def test_straddle_strangle_by_moneyness_and_by_delta_validate():
    m = validate_config(
        {"strategy": {"strike": "moneyness", "call_moneyness": 1.1, "put_moneyness": 0.9}}
    ).strategy
    assert (m.call_moneyness, m.put_moneyness) == (1.1, 0.9)
    d = validate_config(
        {"strategy": {"strike": "delta", "call_delta": 0.25, "put_delta": 0.1, "side": "short"}}
    ).strategy
    assert (d.call_delta, d.put_delta, d.side) == (0.25, 0.1, "short")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (
            {"strike": "delta", "put_delta": 0.25},
            ['strategy.call_delta: strike = "delta" needs call_delta'],
        ),
        (
            {"strike": "delta"},
            [
                'strategy.call_delta: strike = "delta" needs call_delta',
                'strategy.put_delta: strike = "delta" needs put_delta',
            ],
        ),
        (
            {"strike": "moneyness", "call_moneyness": 1.1},
            ['strategy.put_moneyness: strike = "moneyness" needs put_moneyness'],
        ),
        (
            {"call_delta": 0.25},
            ['strategy.call_delta: only applies to strike = "delta" (strike is "atm")'],
        ),
        (
            {"strike": "delta", "call_delta": 0.2, "put_delta": 0.2, "put_moneyness": 0.9},
            ['strategy.put_moneyness: only applies to strike = "moneyness" (strike is "delta")'],
        ),
        (
            {"size_by": "premium"},
            ['strategy.premium_budget: size_by = "premium" needs premium_budget (USD)'],
        ),
        (
            {"premium_budget": 1000.0},
            [
                'strategy.premium_budget: only applies to size_by = "premium" (size_by is '
                '"quantity")'
            ],
        ),
        (
            {"strike": "delta", "call_delta": 1.0, "put_delta": 0.25},
            ["strategy.call_delta: Input should be less than 1 (got 1.0)"],
        ),
        (
            {"size_by": "premium", "premium_budget": 0},
            ["strategy.premium_budget: Input should be greater than 0 (got 0)"],
        ),
        (
            {"strike": "otm"},
            ["strategy.strike: Input should be 'atm', 'moneyness' or 'delta' (got 'otm')"],
        ),
    ],
)
def test_straddle_strike_and_size_combinations(strategy, expected):
    assert problems({"strategy": strategy}) == [f"x.toml: {line}" for line in expected]


# --------------------------------------------------------------------------------------------
# carry / pair / scalp


def test_carry_pair_scalp_defaults():
    c = CarryConfig(long_leg="A", short_leg="B")
    assert (c.long_venue, c.short_venue, c.quantity, c.entry_apr, c.exit_apr) == (
        None,
        None,
        1.0,
        0.05,
        0.0,
    )
    assert (c.on_adverse, c.direction, c.rebalance_tol) == ("flip", "both", 0.1)
    p = PairConfig(instrument="ETHUSDT", hedge_instrument="BTCUSDT")
    assert (p.side, p.notional, p.window, p.return_bars, p.drift_tol) == (
        "long",
        10_000.0,
        168,
        60,
        0.1,
    )
    s = ScalpConfig()
    assert (s.instrument, s.venue, s.quantity, s.max_inventory) == (None, None, 0.01, 0.05)
    assert (s.centre_bars, s.band_pct, s.order_type) == (60, 0.005, "limit")


def test_scalp_defaults_to_the_first_venue_perp():
    cfg = validate_config({"venues": TWO_VENUES, "strategy": {"kind": "scalp"}})
    leg = cfg.strategy_legs()["instrument"]
    assert (leg.name, leg.venue, leg.kind) == ("BTCUSDT", "binance", "perp_linear")


def test_hedge_table_is_accepted_and_ignored_by_other_kinds():
    cfg = validate_config(
        {"strategy": {"kind": "scalp"}, "hedge": {"band": 0.3, "order_type": "limit"}}
    )
    assert cfg.hedge.band == 0.3 and isinstance(cfg.strategy, ScalpConfig)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"strategy": carry(long_leg="ETHUSDT")},
            ["strategy.long_leg: 'ETHUSDT' is not an instrument; instruments: binance:BTCUSDT"],
        ),
        (
            {"strategy": carry(long_venue="okx")},
            ["strategy.long_venue: 'okx' is not a configured venue; venues: binance"],
        ),
        (
            {"strategy": carry()},
            [
                "strategy.short_leg: the long and the short leg are the same instrument "
                "binance:BTCUSDT"
            ],
        ),
        (
            {"venues": TWO_VENUES, "strategy": carry(long_venue="binance")},
            [
                "strategy.short_venue: 'BTCUSDT' is on several venues (binance, bybit); name "
                "the venue with strategy.short_venue"
            ],
        ),
        (
            {"instruments": [SPOT], "strategy": carry(long_leg="BTC/USDT")},
            [
                'strategy.on_adverse: "flip" would short the spot leg binance:BTC/USDT; use '
                'on_adverse = "exit" (cash-and-carry)',
                'strategy.direction: "both" may open the reverse direction, shorting the spot '
                'leg binance:BTC/USDT; use direction = "long_short" (cash-and-carry)',
            ],
        ),
        (
            {
                "instruments": [SPOT],
                "strategy": carry(long_leg="BTC/USDT", on_adverse="exit", direction="long_short"),
            },
            None,
        ),
        (
            {
                "instruments": [SPOT],
                "strategy": carry(short_leg="BTC/USDT", on_adverse="exit", direction="long_short"),
            },
            [
                "strategy.short_leg: binance:BTC/USDT is spot and cannot be shorted; the short "
                "leg is a perp (cash-and-carry: spot long_leg, perp short_leg)"
            ],
        ),
        (
            {"strategy": carry(quantity=0)},
            ["strategy.quantity: Input should be greater than 0 (got 0)"],
        ),
        (
            {"strategy": {"kind": "carry", "long_leg": "BTCUSDT"}},
            ["strategy.short_leg: Field required"],
        ),
        (
            {"strategy": carry(on_adverse="hold")},
            ["strategy.on_adverse: Input should be 'exit' or 'flip' (got 'hold')"],
        ),
        (
            {
                "instruments": [{"name": "ETHUSDT", "beta": 1.2}],
                "strategy": {
                    "kind": "pair",
                    "instrument": "ETHUSDT",
                    "hedge_instrument": "SOLUSDT",
                },
            },
            [
                "strategy.hedge_instrument: 'SOLUSDT' is not an instrument; instruments: "
                "binance:BTCUSDT, binance:ETHUSDT"
            ],
        ),
        (
            {
                "strategy": {
                    "kind": "pair",
                    "instrument": "BTCUSDT",
                    "hedge_instrument": "BTCUSDT",
                },
            },
            ["strategy.hedge_instrument: the two legs are the same instrument binance:BTCUSDT"],
        ),
        (
            {
                "instruments": [{"name": "ETH/USDT", "kind": "spot", "beta": 1.0}],
                "strategy": {
                    "kind": "pair",
                    "instrument": "BTCUSDT",
                    "hedge_instrument": "ETH/USDT",
                },
            },
            [
                "strategy.hedge_instrument: binance:ETH/USDT is spot; the hedge leg is a perp "
                "(it is sold)"
            ],
        ),
        (
            {
                "instruments": [{"name": "ETH/USDT", "kind": "spot", "beta": 1.0}],
                "strategy": {
                    "kind": "pair",
                    "instrument": "ETH/USDT",
                    "hedge_instrument": "BTCUSDT",
                    "side": "short",
                },
            },
            ['strategy.side: "short" would short the spot leg binance:ETH/USDT; use a perp'],
        ),
        (
            {
                "strategy": {
                    "kind": "pair",
                    "instrument": "BTCUSDT",
                    "hedge_instrument": "X",
                    "window": 2,
                },
            },
            ["strategy.window: Input should be greater than or equal to 3 (got 2)"],
        ),
        (
            {"instruments": [SPOT], "strategy": {"kind": "scalp", "instrument": "BTC/USDT"}},
            [
                "strategy.instrument: binance:BTC/USDT is spot; scalping trades a perp "
                "(inventory can be short)"
            ],
        ),
        (
            {"strategy": {"kind": "scalp", "quantity": 0.1}},
            ["strategy.max_inventory: 0.05 coin is less than one clip (quantity 0.1)"],
        ),
        (
            {"strategy": {"kind": "scalp", "band_pct": 1.0}},
            ["strategy.band_pct: Input should be less than 1 (got 1.0)"],
        ),
        (
            {"strategy": {"kind": "scalp", "side": "long"}},
            [
                "strategy.side: unknown key; valid keys here: kind, instrument, venue, quantity, "
                "max_inventory, centre_bars, band_pct, order_type"
            ],
        ),
    ],
)
def test_leg_problems_name_the_key(data, expected):
    if expected is None:
        assert isinstance(validate_config(data), ExperimentConfig)
    else:
        assert problems(data) == [f"x.toml: {line}" for line in expected]


# --------------------------------------------------------------------------------------------
# extra instruments and per-venue funding


def test_instrument_defaults():
    x = InstrumentConfig(name="ETHUSDT")
    assert (x.venue, x.kind, x.contract_size, x.tick_size, x.lot_size) == (
        None,
        "perp_linear",
        1.0,
        0.01,
        0.001,
    )
    assert (x.ohlcv, x.funding, x.funding_constant, x.funding_interval_hours) == (None,) * 4
    assert (x.beta, x.idio_vol, x.s0, x.own_prices) == (None, None, None, False)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"instruments": [{"name": "BTC/USDT", "kind": "spot", "funding_constant": 0.0001}]},
            ["instruments[0].funding_constant: spot instruments have no funding"],
        ),
        (
            {"instruments": [{"name": "X", "idio_vol": 0.3}]},
            ["instruments[0].idio_vol: only applies to a synthetic beta path (set beta)"],
        ),
        (
            {"instruments": [{"name": "BTC/USDT", "venue": "okx"}]},
            ["instruments[0].venue: 'okx' is not a configured venue; venues: binance"],
        ),
        (
            {"instruments": [{"name": "BTCUSDT", "kind": "spot"}]},
            [
                "instruments[0].name: 'BTCUSDT' on venue 'binance' is already "
                "venues[0].perp_symbol; give it another name (e.g. 'BTC/USDT' for spot beside "
                "the BTCUSDT perp)"
            ],
        ),
        (
            {"instruments": [{"name": "ETHUSDT", "ohlcv": "/d/eth.csv"}]},
            ['instruments[0].ohlcv: is only read when market.source = "files" ("synthetic")'],
        ),
        (
            {
                "market": {"source": "files", "ohlcv": "/d/btc.csv"},
                "instruments": [{"name": "ETHUSDT", "beta": 1.1}],
            },
            [
                "instruments[0].beta: a beta path is generated only when market.source = "
                '"synthetic" ("files"); give files an ohlcv file instead'
            ],
        ),
        (
            {"instruments": [{"name": "ETHUSDT"}]},
            [
                "instruments[0].name: 'ETHUSDT' (base ETH) has no price series of its own (set "
                "ohlcv, or beta on synthetic data), and the main series is market.symbol "
                "'BTCUSDT' (base BTC)"
            ],
        ),
        (
            {"instruments": [{"name": "BTCUSD_PERP", "kind": "perp_inverse"}]},
            [
                "instruments[0].kind: 'perp_inverse' on venue 'binance', whose perp is linear: "
                "a venue holds either coin-margined (inverse) or USD instruments; put it on "
                "another venue"
            ],
        ),
        (
            {"instruments": [{"name": "E", "beta": 1.0}, {"name": "E", "beta": 2.0}]},
            [
                "instruments[1].name: 'E' on venue 'binance' is already instruments[0]; give it "
                "another name (e.g. 'BTC/USDT' for spot beside the BTCUSDT perp)"
            ],
        ),
        (
            {"instruments": [{"kind": "spot"}]},
            ["instruments[0].name: Field required"],
        ),
        (
            {"venues": [{"funding": "/d/f.csv", "funding_constant": 0.0001}]},
            [
                "venues[0].funding_constant: set either funding (a file) or funding_constant, "
                "not both"
            ],
        ),
        (
            {"venues": [{"funding_interval_hours": 0}]},
            ["venues[0].funding_interval_hours: Input should be greater than 0 (got 0)"],
        ),
    ],
)
def test_instrument_and_venue_funding_problems(data, expected):
    assert problems(data) == [f"x.toml: {line}" for line in expected]


def test_extra_instruments_resolve_and_paths_are_relative_to_the_file(tmp_path):
    cfg = validate_config(
        {
            "market": {"source": "files", "ohlcv": "eth.csv", "symbol": "ETHUSDT"},
            "venues": [
                {
                    "perp_symbol": "ETHUSDT",
                    "maintenance_tiers": "flat",
                    "funding": "f/eth_funding.csv",
                }
            ],
            "instruments": [{"name": "BTCUSDT", "ohlcv": "btc.csv", "funding": "btc_f.csv"}],
        },
        base_dir=tmp_path,
    )
    assert cfg.venues[0].funding == tmp_path / "f" / "eth_funding.csv"
    assert (cfg.instruments[0].ohlcv, cfg.instruments[0].funding) == (
        tmp_path / "btc.csv",
        tmp_path / "btc_f.csv",
    )
    assert [(r.name, r.venue, r.key, r.own_prices) for r in cfg.instrument_refs()] == [
        ("ETHUSDT", "binance", "venues[0].perp_symbol", False),
        ("BTCUSDT", "binance", "instruments[0]", True),
    ]


# --------------------------------------------------------------------------------------------
# risk


def test_risk_defaults_are_all_off_and_mirror_the_engine_spec():
    from dataclasses import asdict

    from gammaperp.engine.specs import RiskSpec

    assert RiskConfig().model_dump() == asdict(RiskSpec())
    assert list(RiskConfig.model_fields) == list(asdict(RiskSpec()))
    for name, info in RiskConfig.model_fields.items():
        if name.endswith("_pct"):
            assert "fraction" in info.json_schema_extra["unit"], name


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        (
            {"vol_k": 3.0, "vol_short_bars": 30},
            [
                "risk.vol_short_bars: the volatility breaker (vol_k = 3) needs 2 <= "
                "vol_short_bars < vol_long_bars (got 30 and 0)"
            ],
        ),
        (
            {"trend_threshold": 0.01, "trend_fast_bars": 60, "trend_slow_bars": 60},
            [
                "risk.trend_fast_bars: the trend filter (trend_threshold = 0.01) needs 1 <= "
                "trend_fast_bars < trend_slow_bars (got 60 and 60)"
            ],
        ),
        (
            {"stop_loss_pct": 1.0},
            ["risk.stop_loss_pct: Input should be less than 1 (got 1.0)"],
        ),
        (
            {"hedge_bias": -1.5},
            ["risk.hedge_bias: Input should be greater than or equal to -1 (got -1.5)"],
        ),
        (
            {"margin_action": "sell"},
            ["risk.margin_action: Input should be 'reduce' or 'transfer' (got 'sell')"],
        ),
        (
            {"stop_los_pct": 0.1},
            ["risk.stop_los_pct: unknown key (did you mean 'stop_loss_pct'?)"],
        ),
    ],
)
def test_risk_problems(risk, expected):
    lines = problems({"risk": risk})
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(f"x.toml: {want}"), line


def test_bad_template_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[instruments]]\nname = "BTC/USDT"\nkind = "spot"\n'
        '[strategy]\nkind = "carry"\nlong_leg = "BTC/USDT"\nshort_leg = "BTCUSDT"\n'
        'on_adverse = "flip"\ndirection = "long_short"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    assert str(exc.value) == (
        f'{bad}: strategy.on_adverse: "flip" would short the spot leg binance:BTC/USDT; use '
        'on_adverse = "exit" (cash-and-carry)'
    )
