"""Volume forecasting: per-series Prophet, a global LightGBM per family, baselines, backtests."""
