"""Tables: construction from Python data, type inference, files, errors."""

import numpy as np
import pytest

import twotower


def test_from_dict_infers_types():
    t = twotower.Table(
        {
            "s": ["a", "b", "c"],
            "i": [1, 2, 3],
            "f": [1.5, 2, 3],
            "ns": np.array(["x", "y", "z"]),
            "ni": np.arange(3, dtype=np.int32),
            "nf": np.ones(3, np.float64),
        }
    )
    assert t.num_rows == 3 and len(t) == 3
    assert t.columns == {"s": "string", "i": "int64", "f": "float32", "ns": "string", "ni": "int64", "nf": "float32"}
    t.validate()
    t.close()


def test_explicit_dtypes_and_batches():
    t = twotower.Table({"id": [1, 2]}, dtypes={"id": "float32"})
    assert t.columns["id"] == "float32"
    t.append("name", np.array([], dtype=str))
    t.append("name", ["a"]).append("name", ["b"])
    assert t.num_rows == 2
    with pytest.raises(twotower.InvalidArgumentError, match="dtypes names columns not in data"):
        twotower.Table({"a": [1]}, dtypes={"b": "int64"})


def test_ragged_table_is_invalid():
    t = twotower.Table({"a": [1, 2], "b": ["x"]})
    with pytest.raises(twotower.InvalidArgumentError, match="column 'b' has 1 rows"):
        t.validate()
    with pytest.raises(twotower.InvalidArgumentError):
        len(t)


def test_type_errors():
    with pytest.raises(twotower.InvalidArgumentError, match="empty column"):
        twotower.Table({"a": []})
    with pytest.raises(twotower.InvalidArgumentError, match="do not make"):
        twotower.Table({"a": [1, "x"]})
    with pytest.raises(twotower.InvalidArgumentError, match="not a string"):
        twotower.Table({"a": ["x", None]}, dtypes={"a": str})
    with pytest.raises(twotower.InvalidArgumentError, match="needs integers"):
        twotower.Table({"a": [1.5]}, dtypes={"a": "int64"})
    with pytest.raises(twotower.InvalidArgumentError, match="unknown column type"):
        twotower.Table({"a": [1]}, dtypes={"a": "complex"})
    # Appending another type to an existing column is refused by the library.
    t = twotower.Table({"a": [1, 2]})
    with pytest.raises(twotower.InvalidArgumentError) as e:
        t.append("a", ["x"], dtype="string")
    assert e.value.status_name == "TT_ERR_INVALID_ARGUMENT"
    assert "tt_table_append_strings" in e.value.message


def test_read_file(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text('user,ts,score,ignored\n1,100,0.5,x\n"2, quoted",200,1.5,y\n')
    t = twotower.Table.read_file(p, {"user": str, "ts": "int64", "score": "float32"})
    assert t.num_rows == 2
    assert t.columns == {"user": "string", "ts": "int64", "score": "float32"}


def test_read_file_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("user,ts\n1,100\n2,notanumber\n")
    with pytest.raises(twotower.ParseError) as e:
        twotower.Table.read_file(p, {"user": "string", "ts": "int64"})
    assert "bad.csv" in e.value.message and "3" in e.value.message
    with pytest.raises(twotower.IoError):
        twotower.Table.read_file(tmp_path / "missing.csv", {"user": "string"})
    with pytest.raises(twotower.Error):
        twotower.Table.read_file(p, {"nosuchcolumn": "string"})


def test_columnar_round_trip_and_convert(tmp_path):
    t = twotower.Table({"user": ["a", "b", "a"], "ts": [1, 2, 3], "w": [0.5, 1.5, 2.5]},
                       dtypes={"ts": "int64", "w": "float32"})
    ttc = tmp_path / "t.ttc"
    t.write_columnar(ttc)
    assert ttc.read_bytes()[:6] == b"TTCOLS"
    back = twotower.Table.read_file(ttc, {"w": "float32", "user": "string"})
    assert back.num_rows == 3
    assert back.columns == {"w": "float32", "user": "string"}
    csv = tmp_path / "clicks.csv"
    csv.write_text('user,ts,unused\n"x, y",10,z\nq,20,z\n')
    out = tmp_path / "clicks.ttc"
    twotower.convert_data(csv, out, {"user": str, "ts": "int64"})
    assert twotower.Table.read_file(out, {"ts": "int64"}).num_rows == 2
    # A stored type differing from the requested one names the column and both types.
    with pytest.raises(twotower.ParseError) as e:
        twotower.Table.read_file(out, {"ts": "string"})
    assert "column 'ts' is stored as int64, expected string" in e.value.message
    # Damage is refused as corrupt.
    data = bytearray(out.read_bytes())
    data[20] ^= 1
    out.write_bytes(bytes(data))
    with pytest.raises(twotower.CorruptModelError):
        twotower.Table.read_file(out, {"ts": "int64"})


def test_closed_table():
    t = twotower.Table({"a": [1]})
    with t:
        pass
    assert "closed" in repr(t)
    with pytest.raises(twotower.InvalidArgumentError, match="closed"):
        t.num_rows
    t.close()  # twice is fine
