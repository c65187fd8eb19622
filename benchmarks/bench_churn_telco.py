"""IBM Telco churn: `needradar churn evaluate --folds 5 --seed 42` (seeds 42-46) next to its peers.

Usage: nice .venv/bin/python benchmarks/bench_churn_telco.py [--repeats N]
The same run as `bench_churn_tables.py wa_churn`: peers `LGBMClassifier()` defaults and logistic
regression on the same folds. Prints JSON.
"""

from __future__ import annotations

import argparse
import json

from benchmarks.bench_churn_tables import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    print(json.dumps({"wa_churn": bench("wa_churn", parser.parse_args().repeats)}, indent=2))
