"""Bad input gets a clear error naming the series, row or key; nothing is written."""

from __future__ import annotations

import numpy as np
import pytest

from gammaperp.engine import RunSpec, StraddleSpec, VenueSpec, simulate
from gammaperp.engine.specs import ScriptedOrders
from gammaperp.errors import DataError, EngineError
from gammaperp.market.model import Instrument, MarketBuilder, regular_index

INST = Instrument("PERP", "venue", "perp_linear")


def test_unsorted_and_duplicate_timestamps():
    ts = regular_index(0, 5, 60)
    with pytest.raises(DataError, match="ts: row 3: unsorted"):
        MarketBuilder(ts[[0, 1, 3, 2, 4]])
    with pytest.raises(DataError, match="ts: row 2: duplicate"):
        MarketBuilder(ts[[0, 1, 1, 2, 3]])


@pytest.mark.parametrize(
    ("value", "what"), [(np.nan, "non-finite"), (-1.0, "non-positive"), (0.0, "non-positive")]
)
def test_bad_prices_name_series_and_row(value, what):
    b = MarketBuilder(regular_index(0, 5, 60))
    close = np.array([1.0, 2.0, 3.0, value, 5.0])
    with pytest.raises(DataError, match=rf"venue:PERP.close: row 3: {what}"):
        b.add_instrument(INST, close)


def test_funding_outside_index():
    ts = regular_index(0, 5, 60)
    b = MarketBuilder(ts)
    with pytest.raises(DataError, match=r"venue:PERP\.funding: row 1: event at .* is outside"):
        b.add_instrument(
            INST,
            np.ones(5),
            funding_ts=[ts[1], ts[4] + 60_000_000_000],
            funding_rate=[0.0001, 0.0001],
        )


def test_close_outside_high_low():
    b = MarketBuilder(regular_index(0, 3, 60))
    with pytest.raises(DataError, match=r"row 1: close 5.0 outside \[low 1.0, high 2.0\]"):
        b.add_instrument(INST, [1.0, 5.0, 1.0], high=[1.0, 2.0, 1.0], low=[1.0, 1.0, 1.0])


def test_iv_out_of_range_names_row():
    b = MarketBuilder(regular_index(0, 3, 60))
    with pytest.raises(DataError, match=r"iv\[BTC\]: row 2: implied vol 60.0"):
        b.set_iv("BTC", [0.6, 0.6, 60.0])


def _market():
    b = MarketBuilder(regular_index(0, 4, 60))
    b.add_instrument(INST, [1.0, 2.0, 3.0, 4.0])
    b.set_iv("BTC", 0.5)
    return b.build()


def test_config_asks_for_missing_instrument():
    spec = RunSpec(
        venues=(VenueSpec(name="venue"),),
        strategy=StraddleSpec(instrument="ETHUSDT", hedge_instrument="ETHUSDT"),
    )
    with pytest.raises(DataError, match=r"no instrument 'ETHUSDT'.*it has: venue:PERP"):
        simulate(_market(), spec)


def test_config_names_unknown_venue():
    spec = RunSpec(venues=(VenueSpec(name="bybit"),), strategy=None)
    with pytest.raises(EngineError, match="venue 'venue', which the config does not define"):
        simulate(_market(), spec)


def test_options_without_iv():
    b = MarketBuilder(regular_index(0, 4, 60))
    b.add_instrument(INST, [1.0, 2.0, 3.0, 4.0])
    spec = RunSpec(
        venues=(VenueSpec(name="venue"),),
        strategy=StraddleSpec(instrument="PERP", hedge_instrument="PERP"),
    )
    with pytest.raises(EngineError, match="options on BTC need an implied-vol series"):
        simulate(b.build(), spec)


@pytest.mark.parametrize(
    ("orders", "msg"),
    [
        (ScriptedOrders(bar=[9], instrument=["PERP"], qty=[1.0]), r"row 0: bar 9 outside 0\.\.3"),
        (ScriptedOrders(bar=[2, 1], instrument=["PERP"] * 2, qty=[1.0, 1.0]), "row 1: bars"),
        (ScriptedOrders(bar=[1], instrument=["PERP"], qty=[0.0]), "row 0: qty"),
        (
            ScriptedOrders(bar=[1], instrument=["PERP"], qty=[1.0], order_type=["limit"]),
            "row 0: a limit order needs",
        ),
    ],
)
def test_bad_scripted_orders(orders, msg):
    spec = RunSpec(venues=(VenueSpec(name="venue"),), strategy=None, orders=orders)
    with pytest.raises(EngineError, match=msg):
        simulate(_market(), spec)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"capital": 0.0}, "capital must be > 0"),
        ({"leverage": 200.0}, "leverage"),
        ({"maker_fee": -0.001, "taker_fee": 0.0004}, "maker rebate"),
    ],
)
def test_impossible_venue(kwargs, msg):
    with pytest.raises(EngineError, match=msg):
        VenueSpec(**kwargs)


def test_impossible_strategy():
    with pytest.raises(EngineError, match="roll_days_before"):
        StraddleSpec(expiry_days=7, roll_days_before=7)
    with pytest.raises(EngineError, match=r"hedge\.band must be > 0"):
        StraddleSpec(band=0.0)


def test_coin_settled_options_need_a_coin_venue():
    spec = RunSpec(
        venues=(VenueSpec(name="venue"),),
        strategy=StraddleSpec(instrument="PERP", hedge_instrument="PERP", settlement="inverse"),
    )
    with pytest.raises(EngineError, match=r"coin-settled .* need a coin-margined venue"):
        simulate(_market(), spec)
