"""``gammaperp config show|validate|reference``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from cli_helpers import run_main as run
from gammaperp.config import (
    ExperimentConfig,
    config_fingerprint,
    config_reference_markdown,
    dump_json,
    dump_toml,
    load_config,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_show_without_file_prints_the_defaults_as_toml(capsys):
    code, out, err = run(capsys, "config", "show")
    assert (code, err) == (0, "")
    assert out == dump_toml(ExperimentConfig())
    assert ExperimentConfig.model_validate(tomllib.loads(out)) == ExperimentConfig()
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_show_json(capsys):
    code, out, err = run(capsys, "config", "show", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert out == dump_json(ExperimentConfig()) + "\n"
    assert data["hedge"] == {
        "trigger": "delta_band",
        "band": 0.05,
        "target": "zero",
        "order_type": "market",
        "limit_offset_bps": 0.0,
        "venue": None,
        "triggers": ["band"],
        "price_move_usd": None,
        "price_move_pct": None,
        "interval_minutes": None,
        "leland": False,
        "leland_interval_minutes": None,
        "risk_aversion": None,
        "intrabar": False,
    }


def test_show_file_resolves_defaults_and_paths(capsys):
    path = EXAMPLES / "long_gamma_btc_2021.toml"
    code, out, err = run(capsys, "config", "show", str(path))
    assert (code, err) == (0, "")
    parsed = tomllib.loads(out)
    cfg = load_config(path)
    assert ExperimentConfig.model_validate(parsed) == cfg
    assert parsed["market"]["ohlcv"] == cfg.market.ohlcv.as_posix()
    assert parsed["execution"]["latency_sigma"] == 0.5  # a default not in the file
    assert f"# fingerprint: {config_fingerprint(cfg)}" in out


def test_show_yaml_as_json(capsys):
    code, out, _ = run(capsys, "config", "show", str(EXAMPLES / "short_straddle.yaml"), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["strategy"]["side"] == "short" and data["venues"][0]["name"] == "bybit"
    assert data["market"]["start"] == "2024-03-01T00:00:00Z"


def test_show_with_overrides(capsys):
    code, out, _ = run(
        capsys, "config", "show", "--set", "hedge.band=0.2", "--set", "venues[0].name=okx",
        "--set", "hedge.venue=okx",
    )  # fmt: skip
    assert code == 0
    parsed = tomllib.loads(out)
    assert parsed["hedge"]["band"] == 0.2
    assert parsed["venues"][0]["name"] == "okx" and parsed["hedge"]["venue"] == "okx"
    code, out, err = run(capsys, "config", "show", "--set", "hedge.band=-1")
    assert (code, out) == (2, "")
    assert err == "error: --set: hedge.band: Input should be greater than 0 (got -1)\n"


def test_validate_ok_for_every_example(capsys):
    for path in sorted(EXAMPLES.glob("*.*")):
        code, out, err = run(capsys, "config", "validate", str(path))
        assert (code, out, err) == (0, "ok\n", ""), path


def test_validate_prints_every_problem_and_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "seed = -1\nbogus = 1\n[[venues]]\ntaker_fee_bps = 200\n[hedge]\nband = 0\n"
        '[strategy]\nkind = "condor"\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "config", "validate", str(bad))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: {bad}: seed: Input should be greater than or equal to 0 (got -1)",
        f"error: {bad}: venues[0].taker_fee_bps: Input should be less than or equal to 100 "
        "(got 200)",
        f"error: {bad}: strategy.kind: unknown kind 'condor'; valid: straddle, carry, pair, scalp",
        f"error: {bad}: hedge.band: Input should be greater than 0 (got 0)",
        f"error: {bad}: bogus: unknown key; valid keys here: name, seed, market, venues, "
        "instruments, execution, strategy, hedge, risk, output",
    ]
    assert "Traceback" not in err


def test_validate_combination_error_names_keys(capsys, tmp_path):
    bad = tmp_path / "combo.yaml"
    bad.write_text("market:\n  source: files\n", encoding="utf-8")
    code, _, err = run(capsys, "config", "validate", str(bad))
    assert code == 2
    assert err == (
        f'error: {bad}: market.ohlcv: source = "files" needs an ohlcv file (market.ohlcv)\n'
    )


def test_show_of_a_bad_file_is_one_line_through_the_error_boundary(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = -1\n[hedge]\nband = 0\n", encoding="utf-8")
    code, out, err = run(capsys, "config", "show", str(bad))
    assert (code, out) == (2, "")
    assert err == (
        f"error: {bad}: seed: Input should be greater than or equal to 0 (got -1) (+1 more)\n"
    )


def test_missing_file_and_missing_argument(capsys, tmp_path):
    code, out, err = run(capsys, "config", "validate", str(tmp_path / "none.toml"))
    assert (code, out, err) == (2, "", f"error: {tmp_path / 'none.toml'}: no such config file\n")
    code, out, err = run(capsys, "config", "validate")
    assert (code, out, err) == (2, "", "error: Missing argument 'file'.\n")


def test_reference_prints_the_generated_markdown(capsys):
    code, out, err = run(capsys, "config", "reference")
    assert (code, err) == (0, "")
    assert out == config_reference_markdown()
    assert out.startswith("### Top level\n")
