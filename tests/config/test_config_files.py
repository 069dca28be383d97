"""Reading config files (TOML / YAML / JSON) and the shipped examples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gammaperp.config import (
    ExperimentConfig,
    StraddleConfig,
    config_fingerprint,
    dump_toml,
    load_config,
)
from gammaperp.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "data"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return str(exc.value).splitlines()


def test_example_files_exist_and_all_load():
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".yaml", ".yml"))
    assert names == [
        "cash_and_carry_btc.toml",
        "funding_carry_binance_bybit.toml",
        "funding_carry_synthetic.toml",
        "long_gamma_btc_2021.toml",
        "long_gamma_synthetic.toml",
        "pair_eth_btc.toml",
        "pair_eth_btc_synthetic.toml",
        "risk_overlays.toml",
        "scalp_btc.toml",
        "short_gamma_eth.toml",
        "short_straddle.yaml",
        "strangle_delta25_budget.toml",
    ]
    for name in names:
        assert isinstance(load_config(EXAMPLES / name), ExperimentConfig)


def test_synthetic_example_spells_out_exactly_the_defaults():
    cfg = load_config(EXAMPLES / "long_gamma_synthetic.toml")
    assert cfg.name == "long-gamma-synthetic"
    assert cfg.model_copy(update={"name": "gammaperp-run"}) == ExperimentConfig()


def test_short_straddle_yaml_values():
    cfg = load_config(EXAMPLES / "short_straddle.yaml")
    assert cfg.name == "short-straddle-eth" and cfg.seed == 11
    assert (cfg.market.symbol, cfg.market.s0, cfg.market.bars) == ("ETHUSDT", 3500.0, 43200)
    assert cfg.market.start == datetime(2024, 3, 1, tzinfo=UTC)
    assert cfg.market.funding_constant == 1e-4  # YAML "1e-4" read as a float
    assert cfg.market.iv_constant == 0.65
    venue = cfg.venues[0]
    assert (venue.name, venue.maker_fee_bps, venue.taker_fee_bps) == ("bybit", -0.5, 5.5)
    assert venue.maintenance_tiers == "binance-usdm-eth"
    assert cfg.strategy == StraddleConfig(
        side="short", quantity=10.0, expiry_days=14.0, roll_days_before=2.0, option_fee_bps=3.0
    )
    assert (cfg.hedge.band, cfg.hedge.target, cfg.hedge.order_type) == (0.5, "edge", "limit")
    assert (cfg.hedge.limit_offset_bps, cfg.hedge_venue.name) == (2.0, "bybit")
    assert (cfg.execution.slippage_model, cfg.execution.latency_ms) == ("fixed_bps", 150.0)
    assert cfg.output.record == "summary"


def test_btc_2021_example_points_at_the_shared_data():
    cfg = load_config(EXAMPLES / "long_gamma_btc_2021.toml")
    m = cfg.market
    assert m.source == "files" and m.gap_policy == "ffill"
    assert m.ohlcv == SHARED / "ohlcv_1m" / "binance_spot_BTCUSDT_1m_2021-04-20_2021-05-20.csv.gz"
    assert m.funding == (
        SHARED / "funding" / "binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz"
    )
    assert m.iv == SHARED / "iv" / "deribit_btc_dvol_daily_ohlc.csv.gz"
    for path in (m.ohlcv, m.funding, m.iv):
        assert path.is_absolute() and ".." not in path.parts
        assert path.is_file(), path
    assert cfg.strategy.option_settlement == "linear"
    assert cfg.strategy.expiry_days == 29.9


def test_relative_paths_follow_the_config_file_not_the_cwd(tmp_path, monkeypatch):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    path = write(sub, "c.toml", '[market]\nsource = "files"\nohlcv = "../o.csv"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Path("a/b/c.toml"))
    assert cfg.market.ohlcv == tmp_path / "a" / "o.csv"
    assert load_config(path) == cfg


def test_toml_errors_name_file_and_key(tmp_path):
    path = write(
        tmp_path,
        "x.toml",
        "seed = 1\n[[venues]]\ntaker_fee_bps = -5\nfoo = 2\n[hedge]\nband = 0.0\n",
    )
    assert load_problems(path) == [
        f"{path}: venues[0].taker_fee_bps: Input should be greater than or equal to 0 (got -5)",
        f"{path}: venues[0].foo: unknown key; valid keys here: name, taker_fee_bps, "
        "maker_fee_bps, margin_mode, leverage, initial_capital, perp_symbol, contract_type, "
        "contract_size, tick_size, lot_size, liquidation_fee_bps, on_liquidation, "
        "maintenance_tiers, flat_mmr, funding, funding_constant, funding_interval_hours",
        f"{path}: hedge.band: Input should be greater than 0 (got 0.0)",
    ]


def test_naive_toml_datetime_is_rejected(tmp_path):
    path = write(tmp_path, "t.toml", "[market]\nstart = 2024-01-01T00:00:00\n")
    assert load_problems(path) == [
        f"{path}: market.start: naive datetime 2024-01-01T00:00:00 has no UTC offset; write e.g. "
        "2024-01-01T00:00:00Z or 2024-01-01T00:00:00+00:00"
    ]
    ok = write(tmp_path, "z.toml", '[market]\nstart = "2024-01-01T06:00:00Z"\n')
    assert load_config(ok).market.start == datetime(2024, 1, 1, 6, tzinfo=UTC)


def test_syntax_errors_name_the_file_and_line(tmp_path):
    bad_toml = write(tmp_path, "b.toml", "seed = \n")
    (line,) = load_problems(bad_toml)
    assert line.startswith(f"{bad_toml}: invalid TOML: ") and "line 1" in line
    bad_yaml = write(tmp_path, "b.yaml", "hedge:\n  band: [1,\n")
    (line,) = load_problems(bad_yaml)
    assert line.startswith(f"{bad_yaml}: invalid YAML: ") and "line 3" in line
    bad_json = write(tmp_path, "b.json", "{")
    (line,) = load_problems(bad_json)
    assert line.startswith(f"{bad_json}: invalid JSON: ")


def test_file_level_errors(tmp_path):
    assert load_problems(tmp_path / "nope.toml") == [
        f"{tmp_path / 'nope.toml'}: no such config file"
    ]
    ini = write(tmp_path, "c.ini", "x")
    assert load_problems(ini) == [
        f"{ini}: unknown config format '.ini'; use one of .toml, .yaml, .yml, .json"
    ]
    listy = write(tmp_path, "l.yaml", "- 1\n- 2\n")
    assert load_problems(listy) == [f"{listy}: the top level must be a table of keys, not list"]
    (tmp_path / "d.toml").mkdir()
    assert load_problems(tmp_path / "d.toml") == [
        f"{tmp_path / 'd.toml'}: is a directory, not a config file"
    ]


def test_empty_files_are_the_default_experiment(tmp_path):
    for name in ("e.toml", "e.yaml"):
        assert load_config(write(tmp_path, name, "")) == ExperimentConfig()
    assert load_config(write(tmp_path, "e.json", "{}")) == ExperimentConfig()


def test_yaml_keeps_yes_no_on_off_as_strings(tmp_path):
    path = write(
        tmp_path, "y.yaml", "name: on\nmarket:\n  preset: no\noutput:\n  overwrite: true\n"
    )
    cfg = load_config(path)
    assert (cfg.name, cfg.market.preset, cfg.output.overwrite) == ("on", "no", True)
    bad = write(tmp_path, "yb.yaml", "output:\n  overwrite: yes\n")
    assert load_problems(bad) == [
        f"{bad}: output.overwrite: Input should be a valid boolean (got 'yes')"
    ]


def test_same_experiment_in_three_formats_has_one_fingerprint(tmp_path):
    data = {"seed": 3, "hedge": {"band": 0.1}, "venues": [{"name": "x", "leverage": 5}]}
    toml_path = write(
        tmp_path, "a.toml", 'seed = 3\n[hedge]\nband = 0.1\n[[venues]]\nname = "x"\nleverage = 5\n'
    )
    yaml_path = write(
        tmp_path, "a.yaml", "seed: 3\nhedge: {band: 0.1}\nvenues: [{name: x, leverage: 5}]\n"
    )
    json_path = write(tmp_path, "a.json", json.dumps(data))
    cfgs = [load_config(p) for p in (toml_path, yaml_path, json_path)]
    assert cfgs[0] == cfgs[1] == cfgs[2]
    assert len({config_fingerprint(c) for c in cfgs}) == 1
    resolved = write(tmp_path, "r.toml", dump_toml(cfgs[0]))
    assert load_config(resolved) == cfgs[0]
