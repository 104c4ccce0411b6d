"""The data-only wire format: every allowed value round-trips; nothing else gets through."""

import math
import os

import numpy as np
import pytest
import torch

from grader import wire


def round_trip(value, on_opaque=None):
    frame = wire.encode(value, on_opaque=on_opaque)
    head_len, body_len = wire.PREFIX.unpack(frame[: wire.PREFIX.size])
    header = frame[wire.PREFIX.size : wire.PREFIX.size + head_len]
    body = frame[wire.PREFIX.size + head_len :]
    assert len(body) == body_len
    return wire.decode(header, body, on_ref=lambda hid, t: ("ref", hid, t))


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int8,
        torch.uint8,
        torch.bool,
        torch.complex64,
        torch.float8_e4m3fn,
    ],
    ids=str,
)
def test_tensors_of_every_dtype_round_trip_bit_exact(dtype):
    source = (torch.randn(3, 4, generator=torch.Generator().manual_seed(0)) * 5).to(dtype)
    back = round_trip(source)
    assert back.dtype == dtype and back.shape == source.shape
    assert torch.equal(back.view(torch.uint8), source.view(torch.uint8))


def test_tensor_meta_and_layouts():
    leaf = torch.ones(2, 3, requires_grad=True)
    back = round_trip({"t": (leaf * 2).t(), "empty": torch.empty(0, 5), "scalar": torch.tensor(3.5)})
    assert back["t"].shape == (3, 2) and torch.equal(back["t"], torch.full((3, 2), 2.0))
    meta = wire.remote_meta(back["t"])
    assert meta.device == "cpu" and meta.requires_grad and meta.has_grad_fn
    assert back["empty"].shape == (0, 5) and back["scalar"].item() == 3.5
    assert not back["t"].requires_grad  # the judge never gets a graph


def test_python_and_numpy_values_round_trip():
    value = {
        "none": None,
        "flags": [True, False],
        "int": 2**70,
        "floats": (1.0, -0.0, math.inf, -math.inf),
        "text": "héllo ▁ 🙂",
        "bytes": b"\x00\xff",
        3: "int key",
        ("a", 1): "tuple key",
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "0-d": np.array(1.5),
        "vocab": {"un", "##aff"},
        "frozen": frozenset({1, 2}),
        "scalar": np.float64(2.5),
        "i8": np.int8(-3),
        "dtype": torch.bfloat16,
        "device": torch.device("cpu"),
        "size": torch.Size([2, 3]),
    }
    back = round_trip(value)
    assert math.isnan(round_trip(math.nan))
    assert back["floats"] == (1.0, -0.0, math.inf, -math.inf) and math.copysign(1, back["floats"][1]) == -1
    assert back[3] == "int key" and back[("a", 1)] == "tuple key" and back["int"] == 2**70
    assert np.array_equal(back["array"], value["array"]) and back["array"].dtype == np.float32
    assert back["scalar"] == 2.5 and type(back["scalar"]) is np.float64 and type(back["i8"]) is np.int8
    assert back["dtype"] is torch.bfloat16 and back["size"] == (2, 3)
    assert back["vocab"] == {"un", "##aff"} and type(back["frozen"]) is frozenset
    assert back["0-d"].shape == () and back["0-d"] == 1.5
    assert back["text"] == value["text"] and back["bytes"] == value["bytes"]


def test_subclasses_of_data_arrive_as_plain_data():
    class Liar(int):
        def __eq__(self, other):
            return True

    class Seq(list):
        pass

    back = round_trip([Liar(3), Seq([1, 2])], on_opaque=lambda obj: wire.Handle(7, "x"))
    assert type(back[0]) is int and back[0] == 3 and back[0] != 4
    assert type(back[1]) is list


def test_opaque_objects_become_handles_or_are_refused():
    class Thing:
        pass

    assert round_trip([Thing()], on_opaque=lambda obj: wire.Handle(5, "Thing")) == [("ref", 5, "Thing")]
    with pytest.raises(wire.Unencodable):
        wire.encode(Thing())
    with pytest.raises(wire.Unencodable):
        wire.encode(np.array([object()]))


def test_figures_travel_as_summaries():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0.2, 0.3, 0.5], label="T=0.5")
    ax.set(title="t", xlabel="token", ylabel="p")
    ax.legend()
    back = round_trip(fig)
    plt.close(fig)
    assert isinstance(back, wire.FigureSummary)
    (axes,) = back.axes
    assert (axes.title, axes.xlabel, axes.ylabel, axes.legend) == ("t", "token", "p", ["T=0.5"])
    assert axes.lines[0].label == "T=0.5" and np.allclose(axes.lines[0].y, [0.2, 0.3, 0.5])


@pytest.mark.parametrize(
    "header, body",
    [
        (b"not json", b""),
        (b'{"$t": "pickle", "data": "gASV"}', b""),
        (b'{"$t": "tensor", "dtype": "float32", "shape": [4], "buf": [0, 4]}', b"abcd"),
        (b'{"$t": "tensor", "dtype": "os.system", "shape": [1], "buf": [0, 4]}', b"abcd"),
        (b'{"$t": "ndarray", "dtype": "|O", "shape": [1], "buf": [0, 8]}', b"\0" * 8),
        (b'{"$t": "bytes", "buf": [0, 99]}', b"short"),
        (b'{"$t": "dict", "items": [[[1], 2]]}', b""),
        (b'{"$t": "float", "v": "1.5"}', b""),
        (b"[" * 200 + b"]" * 200, b""),
    ],
)
def test_malformed_frames_are_refused(header, body):
    with pytest.raises(wire.WireError):
        wire.decode(header, body)


def test_oversized_frame_is_refused_before_reading_it():
    read, write = os.pipe()
    os.write(write, wire.PREFIX.pack(wire.MAX_HEADER + 1, 0))
    with pytest.raises(wire.WireError, match="too large"):
        wire.read_frame(read)
    os.close(read)
    os.close(write)
