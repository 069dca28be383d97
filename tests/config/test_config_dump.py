"""Resolved configs: dict, TOML, JSON, fingerprint, overrides and the generated reference."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gammaperp.config import (
    ExperimentConfig,
    apply_overrides,
    config_fingerprint,
    config_reference_markdown,
    config_to_dict,
    dump_json,
    dump_toml,
    load_config,
    parse_override,
    to_toml,
)
from gammaperp.config.reference import GENERATED_BEGIN, GENERATED_END, update_reference_block
from gammaperp.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FINGERPRINT = "ff2d5011ecf3b2e11d32e82794293390b1e55e756efc977c513488872e1efa08"


def test_config_to_dict_is_plain_and_complete():
    cfg = ExperimentConfig.model_validate(
        {"market": {"source": "files", "ohlcv": "/d/o.csv"}, "output": {"dir": "/r"}}
    )
    d = config_to_dict(cfg)
    assert list(d) == [
        "name",
        "seed",
        "market",
        "venues",
        "instruments",
        "execution",
        "strategy",
        "hedge",
        "risk",
        "output",
    ]
    assert d["market"]["ohlcv"] == "/d/o.csv" and d["output"]["dir"] == "/r"
    assert d["market"]["start"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert isinstance(d["venues"], list) and d["venues"][0]["name"] == "binance"
    assert d["strategy"]["kind"] == "straddle" and d["hedge"]["trigger"] == "delta_band"
    assert d["market"]["s0"] is None
    assert len(d["market"]) == 18 and len(d["venues"][0]) == 18
    assert d["instruments"] == [] and len(d["risk"]) == 23 and len(d["strategy"]) == 16
    assert ExperimentConfig.model_validate(d) == cfg


def test_dump_toml_is_valid_toml_and_round_trips():
    cfg = ExperimentConfig()
    text = dump_toml(cfg)
    assert text.splitlines()[:2] == [
        "# gammaperp experiment config, fully resolved (schema v1)",
        f"# fingerprint: {DEFAULT_FINGERPRINT}",
    ]
    assert "[[venues]]" in text and "\n# s0 = (unset)\n" in text
    assert "start = 2024-01-01T00:00:00Z\n" in text
    parsed = tomllib.loads(text)
    assert parsed["venues"][0]["taker_fee_bps"] == 4.0
    assert "s0" not in parsed["market"]
    assert ExperimentConfig.model_validate(parsed) == cfg


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "examples").iterdir()))
def test_examples_round_trip_through_toml_and_json(name):
    cfg = load_config(REPO / "examples" / name)
    assert ExperimentConfig.model_validate(tomllib.loads(dump_toml(cfg))) == cfg
    assert ExperimentConfig.model_validate(json.loads(dump_json(cfg))) == cfg
    assert config_fingerprint(ExperimentConfig.model_validate(json.loads(dump_json(cfg)))) == (
        config_fingerprint(cfg)
    )


def test_dump_json_values():
    d = json.loads(dump_json(ExperimentConfig()))
    assert d["market"]["start"] == "2024-01-01T00:00:00Z"
    assert d["market"]["ohlcv"] is None
    assert d["venues"][0]["initial_capital"] == 100000.0


def test_fingerprint_is_pinned_and_ignores_spelled_out_defaults():
    assert config_fingerprint(ExperimentConfig()) == DEFAULT_FINGERPRINT
    explicit = ExperimentConfig.model_validate(
        {"seed": 7, "venues": [{"name": "binance", "leverage": 10}], "hedge": {"band": 0.05}}
    )
    assert config_fingerprint(explicit) == DEFAULT_FINGERPRINT
    changed = ExperimentConfig.model_validate({"hedge": {"band": 0.050001}})
    assert config_fingerprint(changed) != DEFAULT_FINGERPRINT
    assert len(DEFAULT_FINGERPRINT) == 64


def test_to_toml_shapes_and_escapes():
    data = {
        "a": 1,
        "b": -2.5e-7,
        "c": True,
        "d": 'q"uo\\te\n\ttab\x01',
        "e key": [1, 2],
        "f": None,
        "t": {"x": "y", "deep": {"z": 1.0}},
        "arr": [{"n": 1, "sub": {"k": 2}}, {"n": 2}],
    }
    text = to_toml(data)
    assert text.splitlines()[:6] == [
        "a = 1",
        "b = -2.5e-07",
        "c = true",
        'd = "q\\"uo\\\\te\\n\\ttab\\u0001"',
        '"e key" = [1, 2]',
        "# f = (unset)",
    ]
    parsed = tomllib.loads(text)
    expected = dict(data)
    del expected["f"]
    assert parsed == expected


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
    seed=st.integers(min_value=0, max_value=2**62),
    band=st.floats(min_value=1e-9, max_value=1e6, allow_nan=False),
)
def test_dump_toml_round_trips_any_name_seed_and_band(name, seed, band):
    cfg = ExperimentConfig.model_validate({"name": name, "seed": seed, "hedge": {"band": band}})
    back = ExperimentConfig.model_validate(tomllib.loads(dump_toml(cfg)))
    assert back == cfg
    assert (back.name, back.seed, back.hedge.band) == (name, seed, band)


def test_parse_override():
    assert parse_override("hedge.band=0.1") == ("hedge.band", 0.1)
    assert parse_override("seed = 9") == ("seed", 9)
    assert parse_override("output.overwrite=true") == ("output.overwrite", True)
    assert parse_override("name=my run") == ("name", "my run")
    assert parse_override('name="quoted"') == ("name", "quoted")
    assert parse_override("market.start=2024-02-01T00:00:00Z") == (
        "market.start",
        datetime(2024, 2, 1, tzinfo=UTC),
    )
    with pytest.raises(ConfigError, match=re.escape("override 'hedge.band': expected KEY=VALUE")):
        parse_override("hedge.band")


def test_apply_overrides():
    cfg = ExperimentConfig()
    new = apply_overrides(
        cfg,
        {"hedge.band": 0.2, "venues[0].taker_fee_bps": 5, "market.s0": 30000.0, "seed": 1},
    )
    assert (new.hedge.band, new.venues[0].taker_fee_bps, new.market.s0, new.seed) == (
        0.2,
        5.0,
        30000.0,
        1,
    )
    assert cfg.hedge.band == 0.05  # the original is untouched
    with pytest.raises(ConfigError) as exc:
        apply_overrides(cfg, {"hedge.band": -1})
    assert str(exc.value) == "override: hedge.band: Input should be greater than 0 (got -1)"
    with pytest.raises(ConfigError, match=r"override: venues\[3\]\.leverage: index \[3\] out"):
        apply_overrides(cfg, {"venues[3].leverage": 2})
    with pytest.raises(ConfigError, match=re.escape("override: hedge.bnd: unknown key")):
        apply_overrides(cfg, {"hedge.bnd": 2})
    with pytest.raises(ConfigError, match=re.escape("override key 'a..b': cannot parse")):
        apply_overrides(cfg, {"a..b": 2})


def test_docs_config_md_is_in_sync_with_the_models():
    text = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    block = text[text.index(GENERATED_BEGIN) + len(GENERATED_BEGIN) : text.index(GENERATED_END)]
    assert block.strip("\n") == config_reference_markdown().strip("\n"), (
        "docs/config.md is out of date: regenerate it with "
        "gammaperp.config.reference.update_reference_block"
    )
    assert update_reference_block(text) == text


def test_reference_lists_every_field_with_type_default_unit_range():
    md = config_reference_markdown()
    assert md.count("\n| `") == 144
    assert (
        "| `taker_fee_bps` | float | `4.0` | bps of notional | >= 0, <= 100 | "
        "Fee on fills that take liquidity. |"
    ) in md
    assert '| `gap_policy` | "fail" / "split" / "ffill" | `"fail"` | choice |' in md
    assert "| `s0` | float or unset | `unset` | USD per coin | > 0 |" in md
    assert "| `start` | datetime | `2024-01-01T00:00:00Z` | UTC timestamp |" in md
    assert "### `[[venues]]` (VenueConfig)" in md
    assert '### `[strategy]` with kind = "straddle" (StraddleConfig)' in md
