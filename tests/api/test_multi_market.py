"""Multi-instrument markets from configs: extra instruments (synthetic beta paths, own OHLCV
files, spot legs sharing the main series), per-venue and per-instrument funding, IV only
where options need it, and the alignment errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gammaperp.api import build_market, instruments_for
from gammaperp.config import load_config, validate_config
from gammaperp.data.frames import Series
from gammaperp.data.resample import align
from gammaperp.data.synthetic import beta_path, generate
from gammaperp.errors import DataError
from gammaperp.market.build import SeriesLeg, market_from_aligned, market_from_multi
from gammaperp.market.model import Instrument

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "data"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")
ETH_0402 = SHARED / "ohlcv_1m" / "binance_spot_ETHUSDT_1m_2021-04-02_2021-05-14.csv.gz"
BTC_0402 = SHARED / "ohlcv_1m" / "binance_spot_BTCUSDT_1m_2021-04-02_2021-05-14.csv.gz"
ETH_0610 = SHARED / "ohlcv_1m" / "binance_spot_ETHUSDT_1m_2021-06-10_2021-07-10.csv.gz"
BTC_PERP_2023 = SHARED / "ohlcv_1m" / "binance_usdm_perp_BTCUSDT_1m_2023-07-18_2023-08-17.csv.gz"
DYDX_BTC = SHARED / "funding" / "dydx_BTCUSDT_perp_funding_2022-01-01_2023-12-31.csv.gz"
NS_8H = 8 * 3600 * 10**9


def names(m) -> list[str]:
    return [f"{i.venue}:{i.name}:{i.kind}:{i.underlying}" for i in m.instruments]


def pair_cfg(**extra):
    return validate_config(
        {
            "seed": 3,
            "market": {"bars": 20_000, "s0": 50_000.0},
            "instruments": [
                {"name": "ETHUSDT", "beta": 1.2, "idio_vol": 0.4, "s0": 3000.0},
                {"name": "BTC/USDT", "kind": "spot"},
            ],
            "strategy": {"kind": "pair", "instrument": "ETHUSDT", "hedge_instrument": "BTCUSDT"},
            **extra,
        }
    )


# --------------------------------------------------------------------------------------------
# synthetic


def test_synthetic_beta_instrument_follows_the_main_series():
    m = build_market(pair_cfg())
    assert names(m) == [
        "binance:BTCUSDT:perp_linear:BTC",
        "binance:ETHUSDT:perp_linear:ETH",
        "binance:BTC/USDT:spot:BTC",
    ]
    assert m.n_bars == 20_000  # no options: no bars dropped waiting for the IV
    r = np.diff(np.log(m.close), axis=1)
    slope = np.polyfit(r[0], r[1], 1)[0]
    assert abs(slope - 1.2) < 0.01
    assert slope == pytest.approx(1.2016713854520604, rel=1e-9)
    resid_vol = float(np.std(r[1] - slope * r[0]) * np.sqrt(365 * 1440))
    assert abs(resid_vol - 0.4) < 0.01
    assert m.close[1][0] == 3000.0
    assert m.close[1][1:3].tolist() == pytest.approx([3008.378453993177, 3002.1130060571336])
    # the spot leg shares the main series exactly
    np.testing.assert_array_equal(m.close[2], m.close[0])
    np.testing.assert_array_equal(m.high[2], m.high[0])
    # the beta path is close-only: the rest falls back and says so
    assert m.fallbacks["binance:ETHUSDT"] == ("open", "high", "low", "mark", "index", "spread")
    assert m.meta["instrument_prices"] == {
        "binance:BTCUSDT": "main series",
        "binance:ETHUSDT": "synthetic beta 1.2 x BTCUSDT",
        "binance:BTC/USDT": "main series",
    }
    # funding: the BTC perp only (ETH is another asset, spot has none)
    assert np.unique(m.funding_inst).tolist() == [0]
    # no options: no implied vol anywhere
    assert np.isnan(m.iv).all() and m.fallbacks["iv_missing"] == ("BTC", "ETH")


def test_beta_path_is_seeded_by_run_seed_and_name():
    a = build_market(pair_cfg()).close[1]
    b = build_market(pair_cfg()).close[1]
    np.testing.assert_array_equal(a, b)
    c = build_market(pair_cfg(seed=4)).close[1]
    assert not np.array_equal(a[1:], c[1:])
    close = np.array([100.0, 110.0, 99.0])
    assert beta_path(close, beta=2.0).tolist() == pytest.approx([100.0, 121.0, 98.01])
    x = beta_path(close, beta=1.0, idio_vol=0.5, seed=1, name="X").tolist()
    assert x == pytest.approx([100.0, 109.85085992874697, 98.94280797676886], rel=1e-12)
    y = beta_path(close, beta=1.0, idio_vol=0.5, seed=1, name="Y").tolist()
    assert y[1:] != x[1:]
    assert beta_path(close, beta=0.0, s0=5.0).tolist() == [5.0, 5.0, 5.0]


def test_per_venue_funding_constants():
    cfg = validate_config(
        {
            "market": {"bars": 3000, "funding_constant": 0.0002},
            "venues": [
                {"name": "binance", "funding_constant": 0.0001},
                {"name": "bybit", "funding_constant": -0.0003, "funding_interval_hours": 4},
                {"name": "okx"},
            ],
            "strategy": {
                "kind": "carry",
                "long_leg": "BTCUSDT",
                "long_venue": "binance",
                "short_leg": "BTCUSDT",
                "short_venue": "bybit",
            },
        }
    )
    m = build_market(cfg)
    assert names(m) == [
        "binance:BTCUSDT:perp_linear:BTC",
        "bybit:BTCUSDT:perp_linear:BTC",
        "okx:BTCUSDT:perp_linear:BTC",
    ]
    np.testing.assert_array_equal(m.close[0], m.close[1])
    assert m.funding_interval_hours == (8.0, 4.0, 8.0)
    by_inst = {i: m.funding_rate[m.funding_inst == i] for i in range(3)}
    assert [len(v) for v in by_inst.values()] == [6, 12, 6]  # 50 hours of bars
    assert set(by_inst[0]) == {0.0001} and set(by_inst[1]) == {-0.0003}
    assert set(by_inst[2]) == {0.0002}  # no override: the market's funding
    ts1 = m.funding_ts[m.funding_inst == 1]
    assert (ts1 % (4 * 3600 * 10**9) == 0).all() and (np.diff(ts1) == NS_8H // 2).all()


def test_every_template_builds_a_synthetic_market_offline():
    base = {"market": {"bars": 2000}}
    kinds = {
        "straddle": ({}, 1, False),
        "scalp": ({"strategy": {"kind": "scalp"}}, 1, True),
        "carry": (
            {
                "instruments": [{"name": "BTC/USDT", "kind": "spot"}],
                "strategy": {
                    "kind": "carry",
                    "long_leg": "BTC/USDT",
                    "short_leg": "BTCUSDT",
                    "on_adverse": "exit",
                    "direction": "long_short",
                },
            },
            2,
            True,
        ),
        "pair": (
            {
                "instruments": [{"name": "ETHUSDT", "beta": 1.0, "s0": 3000.0}],
                "strategy": {
                    "kind": "pair",
                    "instrument": "ETHUSDT",
                    "hedge_instrument": "BTCUSDT",
                },
            },
            2,
            True,
        ),
    }
    for kind, (extra, n_inst, no_iv) in kinds.items():
        m = build_market(validate_config({**base, **extra}))
        assert m.n_instruments == n_inst, kind
        assert bool(np.isnan(m.iv).all()) is no_iv, kind
        assert m.n_bars == (2000 if no_iv else 1941), kind  # the straddle waits for the IV


def test_examples_synthetic_markets():
    carry = build_market(load_config(EXAMPLES / "funding_carry_synthetic.toml"))
    assert names(carry) == ["binance:BTCUSDT:perp_linear:BTC", "bybit:BTCUSDT:perp_linear:BTC"]
    assert carry.n_bars == 43_200
    assert sorted(set(carry.funding_rate[carry.funding_inst == 0])) == [0.0001]
    assert sorted(set(carry.funding_rate[carry.funding_inst == 1])) == [0.0003]
    pair = build_market(load_config(EXAMPLES / "pair_eth_btc_synthetic.toml"))
    assert names(pair) == ["binance:BTCUSDT:perp_linear:BTC", "binance:ETHUSDT:perp_linear:ETH"]
    assert pair.close[1][0] == 3000.0 and pair.close[0][0] != 3000.0
    assert set(pair.funding_rate[pair.funding_inst == 1]) == {0.0001}


# --------------------------------------------------------------------------------------------
# the single-series path is unchanged; the multi path reproduces it


def test_plain_straddle_market_is_unchanged_by_the_multi_builder():
    syn = generate(seed=7, start="2024-01-01", bars=3000, symbol="BTCUSDT")
    aligned = align(syn.ohlcv, syn.funding, syn.iv)
    inst = Instrument("BTCUSDT", "binance", "perp_linear", "BTC", 1.0, 0.1, 0.001)
    old = market_from_aligned(aligned, [inst], funding_interval_hours=8.0)
    new = market_from_multi(aligned, [SeriesLeg(inst)], iv_underlyings=("BTC",))
    assert new.fingerprint() == old.fingerprint()
    assert new.fallbacks == old.fallbacks
    assert {k: v for k, v in new.meta.items() if k != "instrument_prices"} == old.meta
    assert old.meta["bars_dropped_before_first_iv"] == 59
    const = market_from_multi(
        aligned, [SeriesLeg(inst)], iv=0.5, iv_underlyings=("BTC",), funding_constant=1e-4
    )
    ref = market_from_aligned(aligned, [inst], iv=0.5, funding_constant=1e-4)
    assert const.fingerprint() == ref.fingerprint()


def test_a_straddle_with_a_venue_override_equal_to_the_market_builds_the_same_market():
    plain = build_market(validate_config({"market": {"bars": 3000}}))
    routed = build_market(
        validate_config({"market": {"bars": 3000}, "venues": [{"funding_interval_hours": 8.0}]})
    )
    assert "instrument_prices" not in plain.meta and "instrument_prices" in routed.meta
    assert routed.fingerprint() == plain.fingerprint()
    assert plain.fingerprint() == "81c43d32d8845a5ef7ce721aaafad584a6409d37c856b8eda4525e2e76109c4a"


# --------------------------------------------------------------------------------------------
# alignment errors


def _bars(start: str, n: int, missing: tuple[int, ...] = (), price: float = 100.0) -> Series:
    idx = pd.date_range(start, periods=n, freq="1min", tz="UTC").as_unit("ns")
    keep = np.ones(n, bool)
    keep[list(missing)] = False
    c = price + np.arange(n, dtype=float)
    frame = pd.DataFrame(
        {"open": c, "high": c + 1, "low": c - 1, "close": c, "volume": np.ones(n)}, index=idx
    )[keep]
    meta = {"bar_seconds": 60}
    return Series("ohlcv", "x", "ETHUSDT", "spot", frame, source="eth.csv", meta=meta)


def test_extra_series_is_taken_as_of_each_bar_and_trimmed_to_the_common_span():
    main = align(_bars("2024-01-01", 10))
    extra = align(_bars("2024-01-01 00:02", 10, price=1000.0))
    btc = Instrument("BTCUSDT", "v", "perp_linear", "BTC")
    eth = Instrument("ETHUSDT", "v", "perp_linear", "ETH")
    m = market_from_multi(main, [SeriesLeg(btc), SeriesLeg(eth, extra, source="d/eth.csv")])
    assert m.n_bars == 8 and m.meta["bars_outside_common_span"] == 2
    assert m.close[0].tolist() == [102.0 + i for i in range(8)]
    assert m.close[1].tolist() == [1000.0 + i for i in range(8)]
    assert m.high[1].tolist() == [1001.0 + i for i in range(8)]  # same bars: whole candles
    assert m.meta["instrument_prices"]["v:ETHUSDT"] == "eth.csv"


def test_extra_series_with_a_hole_names_the_file():
    main = align(_bars("2024-01-01", 10))
    holed = align(_bars("2024-01-01", 10, missing=(4,), price=1000.0))
    legs = [
        SeriesLeg(Instrument("BTCUSDT", "v", "perp_linear", "BTC")),
        SeriesLeg(Instrument("ETHUSDT", "v", "perp_linear", "ETH"), holed, source="d/eth.csv"),
    ]
    with pytest.raises(DataError) as exc:
        market_from_multi(main, legs)
    assert str(exc.value) == (
        "d/eth.csv: no bar closing within 60 s before 2024-01-01T00:05:00Z (bar 4 of the "
        'run): the series has a hole there; fill it (market.gap_policy = "ffill") or use '
        "another file"
    )


def test_extra_series_that_does_not_overlap_names_the_file():
    main = align(_bars("2024-01-01", 10))
    late = align(_bars("2024-01-01 00:09", 5))
    legs = [
        SeriesLeg(Instrument("BTCUSDT", "v", "perp_linear", "BTC")),
        SeriesLeg(Instrument("ETHUSDT", "v", "perp_linear", "ETH"), late, source="d/eth.csv"),
    ]
    with pytest.raises(DataError, match=re.escape("d/eth.csv: its bars (2024-01-01T00:10:00Z")):
        market_from_multi(main, legs)


def test_a_generated_path_must_have_one_close_per_bar():
    main = align(_bars("2024-01-01", 10))
    leg = SeriesLeg(Instrument("E", "v", "perp_linear", "E"), np.ones(9), source="gen")
    with pytest.raises(DataError, match=r"gen: expected one close per main bar \(10\)"):
        market_from_multi(main, [leg])


# --------------------------------------------------------------------------------------------
# real files


@needs_data
def test_pair_example_aligns_btc_on_the_eth_bars():
    m = build_market(load_config(EXAMPLES / "pair_eth_btc.toml"))
    assert names(m) == ["binance:ETHUSDT:perp_linear:ETH", "binance:BTCUSDT:perp_linear:BTC"]
    # 61,273 ETH bars + 434 filled minutes; the ETH file's last minute has no BTC bar
    assert m.n_bars == 61_706 and m.meta["bars_outside_common_span"] == 1
    assert m.describe()["start"] == "2021-04-02T00:01:00Z"
    assert m.describe()["end"] == "2021-05-14T20:26:00Z"
    assert (m.close[0][0], m.close[1][0], m.close[0][-1], m.close[1][-1]) == (
        1968.3,
        58760.34,
        4051.98,
        50095.46,
    )
    assert (m.close[1][1000], m.high[1][1000], m.volume[1][1000]) == (
        59369.25,
        59375.39,
        14.981046,
    )
    assert m.meta["instrument_prices"]["binance:BTCUSDT"] == BTC_0402.name
    # each perp settles its own funding file's rates
    assert np.bincount(m.funding_inst).tolist() == [128, 128]
    assert m.funding_rate[m.funding_inst == 0][:2].tolist() == [0.00121799, 0.00116568]
    assert m.funding_rate[m.funding_inst == 1][:2].tolist() == [0.00106221, 0.0010197]
    assert np.isnan(m.iv).all()


@needs_data
def test_two_venue_carry_example_gets_each_venue_funding_file():
    m = build_market(load_config(EXAMPLES / "funding_carry_binance_bybit.toml"))
    assert names(m) == ["binance:BTCUSDT:perp_linear:BTC", "bybit:BTCUSDT:perp_linear:BTC"]
    assert m.n_bars == 43_461
    a = m.funding_rate[m.funding_inst == 0]
    b = m.funding_rate[m.funding_inst == 1]
    assert (len(a), len(b)) == (91, 91)
    seconds = m.funding_ts // 10**9  # Binance's stamps carry milliseconds of jitter
    np.testing.assert_array_equal(seconds[m.funding_inst == 0], seconds[m.funding_inst == 1])
    assert not np.array_equal(a, b)
    assert a[:4].tolist() == [0.0001, 0.0001, 2.612e-05, 4.776e-05]
    assert b[:4].tolist() == [0.0001, 0.0001, 0.0001, 0.0001]
    assert int((a != b).sum()) == 69
    assert m.funding_interval_hours == (8.0, 8.0)


@needs_data
def test_cash_and_carry_example_spot_leg_shares_the_price_and_has_no_funding():
    m = build_market(load_config(EXAMPLES / "cash_and_carry_btc.toml"))
    assert names(m) == ["binance:BTCUSDT:perp_linear:BTC", "binance:BTC/USDT:spot:BTC"]
    np.testing.assert_array_equal(m.close[0], m.close[1])
    assert np.unique(m.funding_inst).tolist() == [0]
    assert instruments_for(load_config(EXAMPLES / "cash_and_carry_btc.toml"))[1] == Instrument(
        "BTC/USDT", "binance", "spot", "BTC", 1.0, 0.01, 0.00001
    )


@needs_data
def test_funding_file_interval_is_used_when_not_given(tmp_path):
    cfg = validate_config(
        {
            "market": {"source": "files", "ohlcv": str(BTC_PERP_2023)},
            "venues": [{"name": "binance"}, {"name": "dydx", "funding": str(DYDX_BTC)}],
            "strategy": {"kind": "scalp"},
        }
    )
    m = build_market(cfg)
    assert m.funding_interval_hours == (8.0, 1.0)
    assert np.bincount(m.funding_inst).tolist() == [0, 720]  # no market funding; dYdX hourly


@needs_data
def test_extra_file_that_does_not_overlap_is_a_data_error():
    cfg = validate_config(
        {
            "market": {
                "source": "files",
                "ohlcv": str(ETH_0610),
                "symbol": "ETHUSDT",
                "gap_policy": "ffill",
            },
            "venues": [{"perp_symbol": "ETHUSDT", "maintenance_tiers": "binance-usdm-eth"}],
            "instruments": [{"name": "BTCUSDT", "ohlcv": str(BTC_0402)}],
            "strategy": {"kind": "pair", "instrument": "ETHUSDT", "hedge_instrument": "BTCUSDT"},
        }
    )
    with pytest.raises(DataError) as exc:
        build_market(cfg)
    assert str(exc.value) == (
        f"{BTC_0402}: its bars (2021-04-02T00:01:00Z .. 2021-05-14T20:26:00Z) overlap the "
        "main series (2021-06-10T13:37:00Z .. 2021-07-10T17:57:00Z) in fewer than 2 bars"
    )


@needs_data
def test_files_without_iv_run_non_option_templates_but_not_straddles():
    scalp = build_market(load_config(EXAMPLES / "scalp_btc.toml"))
    assert scalp.n_bars == 43_199 and np.isnan(scalp.iv).all()
    straddle = validate_config({"market": {"source": "files", "ohlcv": str(BTC_PERP_2023)}})
    with pytest.raises(DataError, match="no implied volatility"):
        build_market(straddle)


def test_analytics_find_the_strategy_instrument_of_every_spec():
    from types import SimpleNamespace

    from gammaperp.analytics._common import hedge_instrument_row, strategy_instrument_row
    from gammaperp.engine.specs import CarrySpec, PairSpec, RunSpec, ScalpSpec, StraddleSpec

    m = build_market(pair_cfg())  # rows: BTCUSDT perp, ETHUSDT perp, BTC/USDT spot

    def rows(strategy):
        res = SimpleNamespace(spec=RunSpec(strategy=strategy), market=m)
        return strategy_instrument_row(res), hedge_instrument_row(res)

    assert rows(StraddleSpec()) == (0, 0)
    assert rows(ScalpSpec(instrument="ETHUSDT")) == (1, None)
    pair = PairSpec(long_instrument="ETHUSDT", hedge_instrument="BTCUSDT", long_venue="binance")
    assert rows(pair) == (1, 0)
    carry = CarrySpec(long_instrument="BTC/USDT", short_instrument="BTCUSDT")
    assert rows(carry) == (2, None)
    assert rows(None) == (None, None)
