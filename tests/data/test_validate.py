"""gammaperp.data.validate on hand-made canonical frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gammaperp.data.frames import Series
from gammaperp.data.validate import (
    Gap,
    Issue,
    ValidationReport,
    fill_gaps,
    split_at_gaps,
    validate,
)
from gammaperp.errors import DataError


def bars(n: int = 20, freq: str = "1min", start: str = "2024-01-01", tz: str | None = "UTC"):
    idx = pd.date_range(start, periods=n, freq=freq, tz=tz, name="ts")
    close = 100.0 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 3.0),
        },
        index=idx,
    )


def ohlcv(frame: pd.DataFrame, **meta) -> Series:
    return Series(
        "ohlcv", "binance", "BTCUSDT", "spot", frame, "x.csv", {"bar_seconds": 60, **meta}
    )


def test_clean_series_is_ok() -> None:
    r = validate(ohlcv(bars()))
    assert r.ok and r.issues == [] and r.gaps == []
    assert r.interval == pd.Timedelta("1min")
    assert r.n_rows == 20 and r.key == "binance:BTCUSDT:spot:ohlcv" and r.file == "x.csv"
    assert r.result is not None and r.result.frame.equals(bars())
    r.raise_for_errors()  # no error, no exception


def test_naive_index_needs_declaration() -> None:
    s = ohlcv(bars(tz=None))
    r = validate(s)
    assert not r.ok
    assert str(r.errors[0]) == (
        "x.csv: index is naive (no time zone); declare it with assume_utc=True if it is UTC"
    )
    r = validate(s, assume_utc=True)
    assert r.ok and str(r.result.frame.index.tz) == "UTC"
    assert r.result.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_non_utc_zone_is_an_error() -> None:
    r = validate(ohlcv(bars(tz="Europe/London")))
    assert [i.check for i in r.errors] == ["timezone"]
    assert "index time zone is Europe/London, must be UTC" in r.errors[0].message


def test_missing_required_column() -> None:
    r = validate(ohlcv(bars().drop(columns=["volume"])))
    assert [i.message for i in r.errors] == ["missing required column 'volume' for kind 'ohlcv'"]


def test_unsorted_and_duplicates() -> None:
    f = bars()
    f = f.iloc[[0, 1, 2, 4, 3, 5]]
    r = validate(ohlcv(f), line_numbers=[2, 3, 4, 5, 6, 7])
    assert str(r.errors[0]) == (
        "x.csv row 6 column 'ts': timestamp 2024-01-01T00:03:00Z is earlier than the previous "
        "row's (2024-01-01T00:04:00Z): rows are not sorted"
    )
    f = bars().iloc[[0, 1, 1, 2]]
    r = validate(ohlcv(f))
    assert [(i.check, i.position) for i in r.errors] == [("duplicate", 2)]
    assert str(r.errors[0]) == (
        "x.csv position 2 (2024-01-01T00:01:00Z) column 'ts': duplicate timestamp "
        "2024-01-01T00:01:00Z (same as the previous row)"
    )
    trades = pd.DataFrame(
        {"price": [1.0, 1.0, 2.0], "qty": [1.0, 2.0, 1.0], "side": [1.0, -1.0, 1.0]},
        index=pd.DatetimeIndex(["2024-01-01", "2024-01-01", "2024-01-01 00:00:01"], tz="UTC"),
    )
    assert validate(Series("trades", "b", "X", "perp", trades)).ok


def test_price_checks() -> None:
    f = bars()
    f.loc[f.index[3], "close"] = np.nan
    f.loc[f.index[5], "low"] = -1.0
    f.loc[f.index[7], ["high", "low"]] = [90.0, 110.0]
    f.loc[f.index[9], "close"] = 200.0
    f.loc[f.index[11], "open"] = 1.0
    r = validate(ohlcv(f), line_numbers=np.arange(2, 22))
    got = [(i.row, i.column, i.message) for i in r.errors]
    assert got == [
        (5, "close", "NaN price"),
        (7, "low", "non-positive price -1"),
        (9, "high", "high 90 < low 110"),
        (11, "close", "close 200 outside [low 108, high 110]"),
        (13, "open", "open 1 outside [low 110, high 112]"),
    ]
    with pytest.raises(DataError) as err:
        r.raise_for_errors()
    assert str(err.value) == "x.csv row 5 column 'close': NaN price (and 4 more error(s))"


def test_zero_volume_info_and_crossed_quotes() -> None:
    f = bars()
    f.loc[f.index[4], "volume"] = 0.0
    r = validate(ohlcv(f))
    assert r.ok and [(i.severity, i.check, i.position) for i in r.issues] == [
        ("info", "zero_volume", 4)
    ]
    q = pd.DataFrame(
        {"bid": [10.0, 10.2, 10.1], "ask": [10.1, 10.1, 10.2]},
        index=pd.date_range("2024-01-01", periods=3, freq="s", tz="UTC"),
    )
    r = validate(Series("quotes", "b", "X", "perp", q))
    assert r.ok and [(i.check, i.position) for i in r.warnings] == [("crossed", 1)]


def test_gaps_listed_with_missing_counts() -> None:
    f = bars(30).drop(bars(30).index[[5, 6, 7, 20]])
    r = validate(ohlcv(f))
    assert r.gaps == [
        Gap(
            pd.Timestamp("2024-01-01 00:04", tz="UTC"),
            pd.Timestamp("2024-01-01 00:08", tz="UTC"),
            3,
        ),
        Gap(
            pd.Timestamp("2024-01-01 00:19", tz="UTC"),
            pd.Timestamp("2024-01-01 00:21", tz="UTC"),
            1,
        ),
    ]
    assert r.missing == 4 and r.ok
    assert str(r.gaps[0]) == "2024-01-01T00:04:00Z -> 2024-01-01T00:08:00Z (3 missing)"
    assert r.gaps[0].duration == pd.Timedelta("4min")
    assert [i.message for i in r.warnings] == [
        "gap of 3 missing 1min interval(s) after 2024-01-01T00:04:00Z",
        "gap of 1 missing 1min interval(s) after 2024-01-01T00:19:00Z",
    ]
    # explicit interval overrides meta: against 5 minutes these are not gaps
    r5 = validate(ohlcv(f), expected_interval="5min")
    assert r5.interval == pd.Timedelta("5min") and r5.gaps == []
    assert validate(ohlcv(f), expected_interval=60.0).missing == 4


def test_gap_policy_fail_split_ffill() -> None:
    f = bars(30).drop(bars(30).index[[5, 6, 7, 20]])
    s = ohlcv(f)
    r = validate(s, gap_policy="fail")
    assert not r.ok and [i.check for i in r.errors] == ["gap", "gap"]
    with pytest.raises(DataError, match=r"x.csv position 5 \(2024-01-01T00:08:00Z\) column 'ts'"):
        r.raise_for_errors()
    r = validate(s, gap_policy="split")
    assert [len(x) for x in r.segments] == [5, 12, 9]
    assert [x.meta["segment"] for x in r.segments] == [0, 1, 2]
    assert r.segments[1].frame.index[0] == pd.Timestamp("2024-01-01 00:08", tz="UTC")
    assert r.series is None
    r = validate(s, gap_policy="ffill")
    out = r.result
    assert r.series is out
    assert isinstance(out, Series) and len(out) == 30
    assert out.frame.index.equals(bars(30).index)
    assert out.frame.synthetic.dtype == bool and int(out.frame.synthetic.sum()) == 4
    filled = out.frame.loc["2024-01-01 00:05+00:00"]
    assert filled[["open", "high", "low", "close", "volume"]].tolist() == [104.0] * 4 + [0.0]
    assert bool(filled["synthetic"]) is True
    assert out.meta["n_synthetic"] == 4
    assert not bool(out.frame.synthetic.iloc[0])
    with pytest.raises(DataError, match="gap_policy must be"):
        validate(s, gap_policy="drop")  # type: ignore[arg-type]


def test_ffill_without_gaps_still_adds_the_column() -> None:
    r = validate(ohlcv(bars()), gap_policy="ffill")
    assert r.result.frame.synthetic.tolist() == [False] * 20


def test_funding_jitter_irregular_and_ffill() -> None:
    t = pd.to_datetime(
        [
            "2024-01-01 00:00:00.000",
            "2024-01-01 07:59:59.998",
            "2024-01-01 16:00:00.001",
            "2024-01-02 16:00:00",
            "2024-01-02 18:00:00",
            "2024-01-03 00:00:00",
        ],
        utc=True,
        format="ISO8601",
    )
    f = pd.DataFrame({"rate": [1e-4, 2e-4, 3e-4, 4e-4, 5e-4, 6e-4]}, index=t)
    s = Series("funding", "htx", "BTCUSDT", "perp", f, "f.csv", {"interval_hours": 8})
    r = validate(s)
    assert [(str(g.start), g.missing) for g in r.gaps] == [("2024-01-01 16:00:00.001000+00:00", 2)]
    assert [(i.check, i.position) for i in r.warnings if i.check == "irregular"] == [
        ("irregular", 4),
        ("irregular", 5),
    ]
    filled = fill_gaps(s, "8h").frame
    assert len(filled) == 8
    assert filled.rate.tolist() == [1e-4, 2e-4, 3e-4, 3e-4, 3e-4, 4e-4, 5e-4, 6e-4]
    assert filled.index[3] == pd.Timestamp("2024-01-02 00:00:00.001", tz="UTC")


def test_outliers_are_flagged_never_dropped() -> None:
    rng = np.random.default_rng(7)
    n = 500
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    close[250] *= 1.08  # an 8 % spike for one bar
    f = pd.DataFrame(
        {"open": close, "high": close * 1.001, "low": close * 0.999, "close": close, "volume": 1.0},
        index=pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
    )
    r = validate(ohlcv(f))
    flagged = [i.position for i in r.warnings if i.check == "outlier"]
    assert flagged == [250, 251]
    assert r.count("outlier") == 2 and len(r.result) == n
    assert "robust sigmas (flagged, kept)" in r.warnings[0].message
    assert validate(ohlcv(f), outlier_sigma=None).warnings == []


def test_funding_outlier_and_nan_rate() -> None:
    rates = np.full(200, 1e-4)
    rates[::7] = 0.8e-4
    rates[100] = 0.01
    f = pd.DataFrame(
        {"rate": rates}, index=pd.date_range("2024-01-01", periods=200, freq="8h", tz="UTC")
    )
    s = Series("funding", "binance", "BTCUSDT", "perp", f, meta={"interval_hours": 8})
    r = validate(s)
    assert [i.position for i in r.warnings] == [100]
    f.iloc[3, 0] = np.nan
    r = validate(Series("funding", "binance", "BTCUSDT", "perp", f))
    assert [(i.message, i.position) for i in r.errors] == [("NaN funding rate", 3)]


def test_premium_index_may_be_negative_and_option_marks_may_be_zero() -> None:
    f = bars() - 100.5
    f["volume"] = 0.0
    f["high"] = f[["open", "close"]].max(axis=1) + 0.1
    f["low"] = f[["open", "close"]].min(axis=1) - 0.1
    assert validate(ohlcv(f, price_type="premium_index")).ok
    assert not validate(ohlcv(f)).ok
    chain = pd.DataFrame(
        {
            "instrument": ["A", "B"],
            "expiry": pd.Timestamp("2024-02-01", tz="UTC"),
            "strike": [100.0, 110.0],
            "option_type": ["call", "put"],
            "mark_price": [0.0, -0.1],
        },
        index=pd.DatetimeIndex(["2024-01-01", "2024-01-01"], tz="UTC"),
    )
    r = validate(Series("option_chain", "deribit", "BTC", "option", chain))
    assert [(i.column, i.position, i.message) for i in r.errors] == [
        ("mark_price", 1, "invalid price -0.1")
    ]


def test_report_summary_frame_and_caps() -> None:
    f = bars(50)
    f.loc[f.index[10:40], "close"] = np.nan
    r = validate(ohlcv(f), max_issues_per_check=5)
    assert [i.check for i in r.errors] == ["nan"] * 5 + ["nan:more"]
    assert r.errors[-1].message == "... and 25 more rows: NaN price"
    assert r.count("nan") == 30
    text = r.summary(max_lines=3)
    lines = text.splitlines()
    assert lines[0] == (
        "x.csv (binance:BTCUSDT:spot:ohlcv, 50 rows, 2024-01-01T00:00:00Z -> "
        "2024-01-01T00:49:00Z): 6 error(s), 0 warning(s)"
    )
    assert lines[1] == "  gaps vs 1min: 0 gap(s), 0 missing interval(s), policy 'warn'"
    assert lines[2] == "  error: x.csv position 10 (2024-01-01T00:10:00Z) column 'close': NaN price"
    assert lines[-1] == "  ... 3 more issue(s)"
    frame = r.to_frame()
    assert list(frame.columns) == [
        "severity",
        "check",
        "file",
        "row",
        "position",
        "ts",
        "column",
        "message",
    ]
    assert len(frame) == 6 and frame.position.tolist()[:2] == [10, 11]
    assert frame.row.isna().all() and str(frame.ts.dt.tz) == "UTC"
    assert str(r) == text.replace("\n  ... 3 more issue(s)", "") or str(r).startswith(lines[0])


def test_bare_dataframe_and_kind_mismatch() -> None:
    r = validate(bars(), kind="ohlcv", expected_interval="1min")
    assert r.ok and r.key == "unknown:UNKNOWN:spot:ohlcv"
    with pytest.raises(DataError, match="kind='funding' given for a 'ohlcv' series"):
        validate(ohlcv(bars()), kind="funding")
    with pytest.raises(DataError, match="3 line numbers given for 20 rows"):
        validate(ohlcv(bars()), line_numbers=[1, 2, 3])


def test_issue_and_empty_report_objects() -> None:
    i = Issue("warning", "gap", "hole", "a.csv", row=4, column="ts")
    assert str(i) == "a.csv row 4 column 'ts': hole"
    assert str(Issue("error", "x", "msg")) == "<series>: msg"
    rep = ValidationReport(file="a.csv", key="k", n_rows=0)
    assert rep.ok and rep.segments == [] and rep.missing == 0
    assert rep.to_frame().empty


def test_split_helper_without_gaps() -> None:
    s = ohlcv(bars())
    out = split_at_gaps(s, "1min")
    assert len(out) == 1 and out[0] is s
