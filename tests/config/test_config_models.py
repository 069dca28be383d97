"""Schema v1: defaults, units, ranges and cross-key rules of the config models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from gammaperp.config import (
    DeltaBandHedgeConfig,
    ExperimentConfig,
    HedgeConfig,
    MarketConfig,
    StraddleConfig,
    StrategyConfig,
    VenueConfig,
    base_asset,
    validate_config,
)
from gammaperp.config.reference import iter_fields
from gammaperp.errors import ConfigError


def problems(data: dict, source: str = "x.toml") -> list[str]:
    with pytest.raises(ConfigError) as exc:
        validate_config(data, source=source)
    return str(exc.value).splitlines()


def test_defaults_match_schema_v1():
    cfg = ExperimentConfig()
    assert (cfg.name, cfg.seed) == ("gammaperp-run", 7)
    m = cfg.market
    assert (m.source, m.preset, m.bars, m.bar_seconds) == (
        "synthetic",
        "sideways-volatile",
        129_600,
        60,
    )
    assert m.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert (m.s0, m.symbol, m.ohlcv, m.funding, m.iv) == (None, "BTCUSDT", None, None, None)
    assert (m.iv_constant, m.iv_scale, m.funding_constant) == (None, 1.0, None)
    assert (m.funding_interval_hours, m.gap_policy, m.window) == (8.0, "fail", None)
    assert len(cfg.venues) == 1
    v = cfg.venues[0]
    assert (v.name, v.taker_fee_bps, v.maker_fee_bps, v.margin_mode) == (
        "binance",
        4.0,
        2.0,
        "cross",
    )
    assert (v.leverage, v.initial_capital, v.perp_symbol) == (10.0, 100_000.0, "BTCUSDT")
    assert (v.contract_type, v.contract_size, v.tick_size, v.lot_size) == (
        "linear",
        1.0,
        0.1,
        0.001,
    )
    assert (v.liquidation_fee_bps, v.on_liquidation) == (50.0, "stop")
    assert (v.maintenance_tiers, v.flat_mmr) == ("binance-usdm-btc", 0.005)
    e = cfg.execution
    assert (e.slippage_model, e.slippage_bps, e.vol_slippage_k, e.impact_k) == (
        "none",
        0.0,
        0.1,
        0.1,
    )
    assert (e.latency_model, e.latency_ms, e.latency_sigma, e.latency_vol_widening) == (
        "constant",
        0.0,
        0.5,
        0.0,
    )
    s = cfg.strategy
    assert isinstance(s, StraddleConfig)
    assert (s.kind, s.side, s.quantity, s.expiry_days, s.strike) == (
        "straddle",
        "long",
        1.0,
        30.0,
        "atm",
    )
    assert (s.roll_days_before, s.option_settlement, s.option_fee_bps) == (0.0, "linear", 0.0)
    assert (s.pricing_model, s.rate) == ("bs", 0.0)
    h = cfg.hedge
    assert isinstance(h, DeltaBandHedgeConfig)
    assert (h.trigger, h.band, h.target, h.order_type, h.limit_offset_bps, h.venue) == (
        "delta_band",
        0.05,
        "zero",
        "market",
        0.0,
        None,
    )
    assert (cfg.output.dir, cfg.output.record, cfg.output.overwrite) == (None, "full", False)
    assert cfg.hedge_venue.name == "binance"


def test_float_defaults_are_floats_and_ints_become_floats():
    cfg = ExperimentConfig.model_validate({"venues": [{"leverage": 20}]})
    assert type(cfg.venues[0].leverage) is float and cfg.venues[0].leverage == 20.0
    assert type(ExperimentConfig().venues[0].leverage) is float


def test_configs_are_frozen_and_hashable():
    cfg = ExperimentConfig()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.seed = 8  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        cfg.hedge.band = 1.0  # type: ignore[misc]
    assert hash(cfg) == hash(ExperimentConfig())
    assert cfg == ExperimentConfig.model_validate({})


def test_model_validate_from_python_dict_fills_kind_and_trigger():
    cfg = ExperimentConfig.model_validate(
        {"strategy": {"side": "short"}, "hedge": {"band": 0.2}, "venues": [{"name": "a"}]}
    )
    assert isinstance(cfg.strategy, StraddleConfig) and cfg.strategy.side == "short"
    assert isinstance(cfg.hedge, DeltaBandHedgeConfig) and cfg.hedge.band == 0.2
    assert cfg.venues == (VenueConfig(name="a"),)
    # model instances are accepted as well as dicts
    cfg2 = ExperimentConfig(strategy=StraddleConfig(side="short"), venues=(VenueConfig(name="a"),))
    assert cfg2.strategy == cfg.strategy and cfg2.venues == cfg.venues


def test_abstract_bases_cannot_be_built():
    with pytest.raises(TypeError, match="StrategyConfig is abstract; build one of: StraddleConfig"):
        StrategyConfig(kind="straddle")
    with pytest.raises(TypeError, match="HedgeConfig is abstract; build one of: DeltaBandHedge"):
        HedgeConfig(trigger="delta_band")
    assert isinstance(StraddleConfig(), StrategyConfig)
    assert isinstance(DeltaBandHedgeConfig(), HedgeConfig)


def test_every_field_documents_unit_and_meaning():
    rows = iter_fields()
    assert len(rows) == 2 + 18 + 18 + 13 + 8 + 16 + 11 + 10 + 8 + 14 + 23 + 3
    for _title, _header, model, key, info in rows:
        extra = info.json_schema_extra
        assert isinstance(extra, dict), f"{model.__name__}.{key}"
        assert extra["unit"] and extra["doc"], f"{model.__name__}.{key}"
        assert info.description == f"{extra['doc']} Unit: {extra['unit']}.", key
    for key, info in ExperimentConfig.model_fields.items():
        assert info.description and "Unit:" in info.description, key


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"seed": -1}, "seed: Input should be greater than or equal to 0 (got -1)"),
        ({"name": ""}, "name: String should have at least 1 character (got '')"),
        (
            {"market": {"bars": 1}},
            "market.bars: Input should be greater than or equal to 2 (got 1)",
        ),
        (
            {"market": {"bars": 1.5}},
            "market.bars: Input should be a valid integer (got 1.5)",
        ),
        (
            {"market": {"bar_seconds": 0}},
            "market.bar_seconds: Input should be greater than 0 (got 0)",
        ),
        ({"market": {"s0": 0.0}}, "market.s0: Input should be greater than 0 (got 0.0)"),
        (
            {"market": {"iv_constant": 5.5}},
            "market.iv_constant: Input should be less than or equal to 5 (got 5.5)",
        ),
        (
            {"market": {"funding_constant": -0.06}},
            "market.funding_constant: Input should be greater than or equal to -0.05 (got -0.06)",
        ),
        (
            {"market": {"funding_interval_hours": 25}},
            "market.funding_interval_hours: Input should be less than or equal to 24 (got 25)",
        ),
        (
            {"market": {"gap_policy": "skip"}},
            "market.gap_policy: Input should be 'fail', 'split' or 'ffill' (got 'skip')",
        ),
        (
            {"market": {"source": "csv"}},
            "market.source: Input should be 'synthetic', 'files' or 'store' (got 'csv')",
        ),
        (
            {"venues": [{"taker_fee_bps": -1}]},
            "venues[0].taker_fee_bps: Input should be greater than or equal to 0 (got -1)",
        ),
        (
            {"venues": [{"maker_fee_bps": -11}]},
            "venues[0].maker_fee_bps: Input should be greater than or equal to -10 (got -11)",
        ),
        (
            {"venues": [{"taker_fee_bps": "4"}]},
            "venues[0].taker_fee_bps: Input should be a valid number (got '4')",
        ),
        (
            {"venues": [{"leverage": 126}]},
            "venues[0].leverage: Input should be less than or equal to 125 (got 126)",
        ),
        (
            {"venues": [{"leverage": 0.5}]},
            "venues[0].leverage: Input should be greater than or equal to 1 (got 0.5)",
        ),
        (
            {"venues": [{"initial_capital": 0}]},
            "venues[0].initial_capital: Input should be greater than 0 (got 0)",
        ),
        (
            {"venues": [{"liquidation_fee_bps": 501}]},
            "venues[0].liquidation_fee_bps: Input should be less than or equal to 500 (got 501)",
        ),
        (
            {"venues": [{"flat_mmr": 0.5}]},
            "venues[0].flat_mmr: Input should be less than 0.5 (got 0.5)",
        ),
        (
            {"venues": [{"margin_mode": "portfolio"}]},
            "venues[0].margin_mode: Input should be 'cross' or 'isolated' (got 'portfolio')",
        ),
        (
            {"venues": []},
            "venues: Tuple should have at least 1 item after validation, not 0",
        ),
        (
            {"venues": {"name": "a"}},
            "venues: Input should be a list (in TOML an array of tables: [[key]])",
        ),
        (
            {"execution": {"slippage_bps": -0.1}},
            "execution.slippage_bps: Input should be greater than or equal to 0 (got -0.1)",
        ),
        (
            {"execution": {"latency_ms": float("nan")}},
            "execution.latency_ms: Input should be a finite number (got nan)",
        ),
        (
            {"strategy": {"quantity": 0}},
            "strategy.quantity: Input should be greater than 0 (got 0)",
        ),
        (
            {"strategy": {"rate": 1.5}},
            "strategy.rate: Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            {"strategy": {"kind": "condor"}},
            "strategy.kind: unknown kind 'condor'; valid: straddle, carry, pair, scalp",
        ),
        (
            {"strategy": 3},
            "strategy: should be a table with a 'kind' key (one of: straddle, carry, pair, scalp)",
        ),
        ({"hedge": {"band": 0}}, "hedge.band: Input should be greater than 0 (got 0)"),
        (
            {"hedge": {"band": -0.1}},
            "hedge.band: Input should be greater than 0 (got -0.1)",
        ),
        (
            {"hedge": {"trigger": "time"}},
            "hedge.trigger: unknown trigger 'time'; valid: delta_band",
        ),
        (
            {"output": {"overwrite": 1}},
            "output.overwrite: Input should be a valid boolean (got 1)",
        ),
        (
            {"output": {"record": "none"}},
            "output.record: Input should be 'full' or 'summary' (got 'none')",
        ),
    ],
)
def test_out_of_range_and_wrong_type_name_file_and_key(data, expected):
    assert problems(data) == [f"x.toml: {expected}"]


def test_unknown_keys_list_valid_keys_at_their_level():
    lines = problems(
        {"bogus": 1, "venues": [{}, {"name": "b", "levrage": 3}], "strategy": {"sid": "long"}}
    )
    assert lines == [
        "x.toml: venues[1].levrage: unknown key (did you mean 'leverage'?); valid keys here: "
        "name, taker_fee_bps, maker_fee_bps, margin_mode, leverage, initial_capital, perp_symbol, "
        "contract_type, contract_size, tick_size, lot_size, liquidation_fee_bps, on_liquidation, "
        "maintenance_tiers, flat_mmr, funding, funding_constant, funding_interval_hours",
        "x.toml: strategy.sid: unknown key (did you mean 'side'?); valid keys here: kind, side, "
        "quantity, expiry_days, strike, call_moneyness, put_moneyness, call_delta, put_delta, "
        "size_by, premium_budget, roll_days_before, option_settlement, option_fee_bps, "
        "pricing_model, rate",
        "x.toml: bogus: unknown key; valid keys here: name, seed, market, venues, instruments, "
        "execution, strategy, hedge, risk, output",
    ]


def test_all_field_problems_are_reported_one_per_line():
    lines = problems(
        {"seed": -3, "market": {"bars": 0}, "hedge": {"band": 0}, "venues": [{"leverage": 0}]}
    )
    assert [line.split(": ")[1] for line in lines] == [
        "seed",
        "market.bars",
        "venues[0].leverage",
        "hedge.band",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"market": {"source": "files"}},
            'x.toml: market.ohlcv: source = "files" needs an ohlcv file (market.ohlcv)',
        ),
        (
            {"market": {"ohlcv": "/data/a.csv"}},
            'x.toml: market.ohlcv: is only read when source = "files" (source is "synthetic")',
        ),
        (
            {"market": {"iv": "/d/iv.csv", "iv_constant": 0.5}},
            "x.toml: market.iv_constant: set either iv (a file) or iv_constant, not both",
        ),
        (
            {"market": {"funding": "/d/f.csv", "funding_constant": 0.0001}},
            "x.toml: market.funding_constant: set either funding (a file) or funding_constant, "
            "not both",
        ),
        (
            {"venues": [{"taker_fee_bps": 1.0, "maker_fee_bps": -2.5}]},
            "x.toml: venues[0].maker_fee_bps: maker rebate 2.5 bps is larger than taker_fee_bps "
            "1 bps",
        ),
        (
            {"venues": [{"maintenance_tiers": "flat", "flat_mmr": 0.02, "leverage": 50}]},
            "x.toml: venues[0].flat_mmr: maintenance rate 0.02 must be below the initial margin "
            "rate 1/leverage = 0.02",
        ),
        (
            {"venues": [{"contract_type": "inverse", "perp_symbol": "BTCUSD_PERP"}]},
            "x.toml: venues[0].maintenance_tiers: 'binance-usdm-btc' is for linear contracts but "
            "contract_type is 'inverse'; use 'flat'",
        ),
        (
            {"market": {"symbol": "ETHUSDT"}, "venues": [{"perp_symbol": "ETHUSDT"}]},
            "x.toml: venues[0].maintenance_tiers: 'binance-usdm-btc' is for BTC but perp_symbol "
            "is 'ETHUSDT'",
        ),
        (
            {"strategy": {"expiry_days": 7, "roll_days_before": 7}},
            "x.toml: strategy.roll_days_before: 7 days must be less than expiry_days 7",
        ),
        (
            {"hedge": {"limit_offset_bps": 2}},
            'x.toml: hedge.limit_offset_bps: 2 bps only applies to order_type = "limit" '
            '(order_type is "market")',
        ),
        (
            {"hedge": {"venue": "okx"}},
            "x.toml: hedge.venue: 'okx' is not a configured venue; venues: binance",
        ),
        (
            {"venues": [{"name": "a"}, {"name": "b"}, {"name": "a"}]},
            "x.toml: venues[2].name: duplicate venue name 'a' (also venues[0])",
        ),
        (
            {"venues": [{"perp_symbol": "ETHUSDT", "maintenance_tiers": "binance-usdm-eth"}]},
            "x.toml: venues[0].perp_symbol: 'ETHUSDT' (base ETH) does not hedge market.symbol "
            "'BTCUSDT' (base BTC)",
        ),
    ],
)
def test_impossible_combinations_name_the_keys(data, expected):
    assert problems(data) == [expected]


def test_several_combination_problems_are_all_reported():
    lines = problems(
        {
            "venues": [{"name": "a"}, {"name": "a"}],
            "hedge": {"venue": "z"},
            "market": {"symbol": "ETHUSDT"},
        }
    )
    assert lines == [
        "x.toml: venues[1].name: duplicate venue name 'a' (also venues[0])",
        "x.toml: hedge.venue: 'z' is not a configured venue; venues: a",
        "x.toml: venues[0].perp_symbol: 'BTCUSDT' (base BTC) does not hedge market.symbol "
        "'ETHUSDT' (base ETH)",
        "x.toml: venues[1].perp_symbol: 'BTCUSDT' (base BTC) does not hedge market.symbol "
        "'ETHUSDT' (base ETH)",
    ]


def test_valid_combinations_pass():
    cfg = validate_config(
        {
            "market": {"symbol": "BTCUSD_PERP"},
            "venues": [
                {"name": "bn", "maker_fee_bps": -1.0, "taker_fee_bps": 1.0},
                {
                    "name": "coinm",
                    "perp_symbol": "BTCUSD_PERP",
                    "contract_type": "inverse",
                    "contract_size": 100.0,
                    "maintenance_tiers": "flat",
                    "flat_mmr": 0.004,
                    "initial_capital": 2.0,
                },
            ],
            "hedge": {"venue": "coinm", "order_type": "limit", "limit_offset_bps": 1.5},
            "strategy": {"expiry_days": 7, "roll_days_before": 6.99},
        }
    )
    assert cfg.hedge_venue.name == "coinm"
    assert cfg.hedge_venue.contract_size == 100.0
    assert cfg.venues[0].maker_fee_bps == -1.0


def test_start_requires_utc_offset_and_is_stored_in_utc():
    naive = problems({"market": {"start": datetime(2024, 1, 1)}})
    assert naive == [
        "x.toml: market.start: naive datetime 2024-01-01T00:00:00 has no UTC offset; write e.g. "
        "2024-01-01T00:00:00Z or 2024-01-01T00:00:00+00:00"
    ]
    assert problems({"market": {"start": "2024-01-01T00:00:00"}}) == naive
    for value in ("2024-03-01T12:00:00Z", "2024-03-01T12:00:00+00:00"):
        cfg = validate_config({"market": {"start": value}})
        assert cfg.market.start == datetime(2024, 3, 1, 12, tzinfo=UTC)
    plus2 = datetime(2024, 3, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    cfg = validate_config({"market": {"start": plus2}})
    assert cfg.market.start == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert cfg.market.start.tzinfo is UTC


def test_paths_resolve_against_base_dir_only_when_given(tmp_path):
    data = {"market": {"source": "files", "ohlcv": "data/o.csv", "iv": "/abs/iv.csv"}}
    cfg = validate_config(data, base_dir=tmp_path / "cfg")
    assert cfg.market.ohlcv == tmp_path / "cfg" / "data" / "o.csv"
    assert cfg.market.iv == Path("/abs/iv.csv")
    plain = ExperimentConfig.model_validate(data)
    assert plain.market.ohlcv == Path("data/o.csv")
    up = validate_config({"output": {"dir": "../runs/a"}}, base_dir=tmp_path / "cfg")
    assert up.output.dir == tmp_path / "runs" / "a"
    assert problems({"output": {"dir": ""}}) == ["x.toml: output.dir: path must not be empty"]


@pytest.mark.parametrize(
    ("symbol", "base"),
    [
        ("BTCUSDT", "BTC"),
        ("BTCUSD_PERP", "BTC"),
        ("BTC-PERPETUAL", "BTC"),
        ("ETH/USDT:USDT", "ETH"),
        ("ethusdc", "ETH"),
        ("SOLBUSD", "SOL"),
        ("XBT", "XBT"),
    ],
)
def test_base_asset(symbol, base):
    assert base_asset(symbol) == base


def test_market_model_directly():
    m = MarketConfig(source="files", ohlcv=Path("/d/a.csv"), iv_constant=0.6)
    assert (m.source, m.ohlcv, m.iv_constant) == ("files", Path("/d/a.csv"), 0.6)
    with pytest.raises(ValidationError) as exc:
        MarketConfig(source="files")
    assert exc.value.errors()[0]["type"] == "combination"


def test_configs_pickle_and_publish_a_json_schema_with_units():
    import pickle

    cfg = validate_config({"venues": [{"name": "a"}, {"name": "b"}], "hedge": {"venue": "b"}})
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    schema = ExperimentConfig.model_json_schema()
    taker = schema["$defs"]["VenueConfig"]["properties"]["taker_fee_bps"]
    assert (taker["unit"], taker["minimum"], taker["maximum"], taker["default"]) == (
        "bps of notional",
        0,
        100,
        4.0,
    )
