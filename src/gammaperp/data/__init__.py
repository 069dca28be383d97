"""Market data: loaders for exchange formats, validation, the DuckDB/Parquet store,
the ccxt downloader, synthetic market generators and named historical windows.

Every loader returns :class:`gammaperp.data.frames.Series`: a canonical pandas frame with a
UTC ``DatetimeIndex`` named ``ts`` plus what it is (kind, venue, symbol, market).
"""
