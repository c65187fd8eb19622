"""needradar: churn risk, its reasons and what to do, and the support volume that is coming."""

__version__ = "0.1.0"
