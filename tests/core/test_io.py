import pandas as pd
import pytest

from core.errors import DataError
from core.io import atomic_path, read_frame, write_frame, write_json


def test_frame_round_trip_by_extension(tmp_path):
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "p": [0.1, 0.9]})
    for name in ("a.csv", "a.parquet"):
        write_frame(df, tmp_path / name)
        pd.testing.assert_frame_equal(read_frame(tmp_path / name), df)


def test_crash_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("crash mid-write")
    assert target.read_text().strip().startswith("{")
    assert '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_unsupported_extension_is_named(tmp_path):
    with pytest.raises(DataError, match=r"out\.xlsx: unsupported output extension '.xlsx'"):
        write_frame(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")
    with pytest.raises(DataError, match="file not found"):
        read_frame(tmp_path / "missing.csv")
