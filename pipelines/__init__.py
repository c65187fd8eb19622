"""Pipelines that orchestrate features, training, experiments and monitoring: the daily job."""
