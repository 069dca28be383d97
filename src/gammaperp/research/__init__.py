"""Research tools: the reference benchmark job, parameter sweeps, walk-forward and Monte Carlo
(sweeps run many configurations in one compiled pass; see :func:`gammaperp.engine.simulate_batch`).
"""
