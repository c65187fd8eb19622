import logging
import sys

import pytest
from pydantic import BaseModel, ValidationError

from serving.client_errors import BENTOML_LOGGER, log_client_errors_in_one_line


class Body(BaseModel):
    horizon: int


def _log_current_exception(logger: logging.Logger) -> None:
    # What BentoML's log_exception does for every failed request.
    logger.error("Exception on %s [%s]", "/forecast", "POST", exc_info=sys.exc_info())


def test_a_client_error_is_one_line_and_a_crash_keeps_its_traceback(caplog):
    log_client_errors_in_one_line()
    log_client_errors_in_one_line()  # idempotent
    logger = logging.getLogger(BENTOML_LOGGER)
    assert len(logger.filters) == 1
    with caplog.at_level(logging.INFO, logger=BENTOML_LOGGER):
        try:
            Body(horizon="soon")
        except ValidationError:
            _log_current_exception(logger)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            _log_current_exception(logger)
    client, crash = caplog.records
    assert client.levelname == "WARNING" and client.exc_info is None
    text = caplog.handler.format(client)
    assert "\n" not in text
    assert client.getMessage() == "client error 400 on /forecast [POST]: 1 validation error for Body"
    assert crash.levelname == "ERROR" and crash.exc_info is not None
    assert "Traceback" in caplog.text and "boom" in caplog.text


@pytest.mark.parametrize(("code", "one_line"), [(404, True), (422, True), (500, False)])
def test_bentoml_errors_by_status(caplog, code, one_line):
    from bentoml.exceptions import BentoMLException

    class Failure(BentoMLException):
        pass

    Failure.error_code = type("Code", (), {"value": code})()
    log_client_errors_in_one_line()
    logger = logging.getLogger(BENTOML_LOGGER)
    with caplog.at_level(logging.INFO, logger=BENTOML_LOGGER):
        try:
            raise Failure("no such series")
        except Failure:
            _log_current_exception(logger)
    (record,) = caplog.records
    assert (record.exc_info is None) is one_line


def test_missing_values_are_json_null():
    import json

    import numpy as np
    import pandas as pd

    from serving.answers import clean as _clean

    row = {
        "a": np.float64("nan"),
        "b": pd.NaT,
        "c": pd.NA,
        "d": [float("inf"), np.int64(3), pd.Timestamp("2026-01-02")],
        "e": np.bool_(True),
    }
    assert json.loads(json.dumps(_clean(row), allow_nan=False)) == {
        "a": None,
        "b": None,
        "c": None,
        "d": [None, 3, "2026-01-02T00:00:00"],
        "e": True,
    }
