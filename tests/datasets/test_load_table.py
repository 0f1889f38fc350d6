"""load_table: CSV / Parquet reading, label encoding, one-line DataErrors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from weightwise.datasets import DataError, encode_labels, load_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "species": ["gentoo", "adelie", "gentoo", "chinstrap", "adelie", "gentoo"],
            "x2": [1, 2, 3, 4, 5, 6],
            "w": [1.0, 2.0, 0.5, 0.0, 1.5, 3.0],
        }
    )


@pytest.fixture(params=["csv", "parquet", "tsv"])
def table_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    df = _frame()
    path = tmp_path / f"data.{request.param}"
    if request.param == "csv":
        df.to_csv(path, index=False)
    elif request.param == "tsv":
        df.to_csv(path, index=False, sep="\t")
    else:
        df.to_parquet(path)
    return path


def test_string_labels_sorted_and_weights(table_path: Path) -> None:
    features, labels, names, weights = load_table(table_path, target="species", weight_column="w")
    assert names == ["adelie", "chinstrap", "gentoo"]
    assert labels.dtype == np.int64
    assert labels.tolist() == [2, 0, 2, 1, 0, 2]
    assert weights is not None and weights.dtype == np.float64
    assert weights.tolist() == [1.0, 2.0, 0.5, 0.0, 1.5, 3.0]
    assert list(features.columns) == ["x1", "x2"]
    assert len(features) == 6


def test_without_weight_column(table_path: Path) -> None:
    table = load_table(table_path, target="species")
    assert table.sample_weight is None
    assert list(table.features.columns) == ["x1", "x2", "w"]


def test_integer_labels_keep_sorted_values(tmp_path: Path) -> None:
    path = tmp_path / "ints.csv"
    pd.DataFrame({"y": [10, 3, 7, 3, 10], "x": range(5)}).to_csv(path, index=False)
    _, labels, names, _ = load_table(path, target="y")
    assert names == ["3", "7", "10"]  # numeric order, not string order
    assert labels.tolist() == [2, 0, 1, 0, 2]


def test_compressed_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    _frame().to_csv(path, index=False)
    assert load_table(path, target="species").class_names == ["adelie", "chinstrap", "gentoo"]


def test_encode_labels_variants() -> None:
    labels, names = encode_labels(pd.Series(["b", "a", "b"]))
    assert labels.tolist() == [1, 0, 1] and names == ["a", "b"]
    labels, names = encode_labels(pd.Series([2.0, 1.0]))
    assert labels.tolist() == [1, 0] and names == ["1", "2"]
    labels, names = encode_labels(pd.Series([True, False, True]))
    assert labels.tolist() == [1, 0, 1] and names == ["False", "True"]
    labels, names = encode_labels(pd.Series(["b", 1, "a"], dtype=object))
    assert names == ["1", "a", "b"]
    labels, names = encode_labels(pd.Series(["y", "x"]).astype("category"))
    assert labels.tolist() == [1, 0] and names == ["x", "y"]


def _one_line(exc: pytest.ExceptionInfo[DataError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_table(tmp_path / "nope.csv", target="y")
    assert "not found" in _one_line(exc)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("whatever")
    with pytest.raises(DataError) as exc:
        load_table(path, target="y")
    assert "unsupported file type '.xlsx'" in _one_line(exc)


def test_unknown_column_lists_available(table_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_table(table_path, target="specie")
    message = _one_line(exc)
    assert "'specie' not found" in message
    assert "'x1', 'species', 'x2', 'w'" in message
    assert "did you mean 'species'" in message
    with pytest.raises(DataError, match="weight column 'weight' not found"):
        load_table(table_path, target="species", weight_column="weight")


def test_data_error_is_value_error() -> None:
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize("missing", [None, np.nan, ""])
def test_nan_or_empty_target_names_the_row(tmp_path: Path, missing: object) -> None:
    df = _frame().astype({"species": object})
    df.loc[4, "species"] = missing
    path = tmp_path / "data.parquet"
    df.to_parquet(path)
    with pytest.raises(DataError) as exc:
        load_table(path, target="species")
    assert "target column 'species' is empty" in _one_line(exc)
    assert "row 4" in str(exc.value)


def test_nan_target_in_csv_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,a\n2,\n3,b\n")
    with pytest.raises(DataError, match=r"row 1 \(line 3 of the file\)"):
        load_table(path, target="y")


def test_one_class_only(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"y": ["a", "a", "a"], "x": [1, 2, 3]}).to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        load_table(path, target="y")
    assert "only one class ('a')" in _one_line(exc)


def test_fractional_target(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"y": [0.0, 1.5, 1.0], "x": [1, 2, 3]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"non-integer value 1.5 in row 1"):
        load_table(path, target="y")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.nan, "weight column 'w' is NaN (empty) in row 2"),
        (-0.5, "weight column 'w' has a negative value -0.5 in row 2"),
        (np.inf, "weight column 'w' has a non-finite value inf in row 2"),
        (-np.inf, "weight column 'w' has a non-finite value -inf in row 2"),
    ],
)
def test_bad_weights_name_row_and_value(tmp_path: Path, value: float, expected: str) -> None:
    df = _frame()
    df.loc[2, "w"] = value
    path = tmp_path / "data.parquet"
    df.to_parquet(path)
    with pytest.raises(DataError) as exc:
        load_table(path, target="species", weight_column="w")
    assert _one_line(exc) == expected


def test_non_numeric_and_all_zero_weights(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("y,w\na,1\nb,heavy\n")
    with pytest.raises(DataError, match="non-numeric value 'heavy' in row 1"):
        load_table(path, target="y", weight_column="w")
    path.write_text("y,w\na,0\nb,0\n")
    with pytest.raises(DataError, match="zero in every row"):
        load_table(path, target="y", weight_column="w")


def test_empty_and_headers_only_files(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_table(path, target="y")
    path.write_text("x,y\n")
    with pytest.raises(DataError, match="no data rows"):
        load_table(path, target="y")


def test_unparseable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_text("not parquet at all")
    with pytest.raises(DataError) as exc:
        load_table(path, target="y")
    assert _one_line(exc).startswith(f"cannot read {path}")


def test_target_equal_to_weight_column(table_path: Path) -> None:
    with pytest.raises(DataError, match="same column"):
        load_table(table_path, target="w", weight_column="w")
