"""The judge <-> worker wire format: length-prefixed frames of data, never pickle.

A frame is ``u32 header length | u64 body length | JSON header | body``. The header is a
JSON tree in which plain JSON values stand for themselves and tagged objects
``{"$t": tag, ...}`` stand for everything else; raw array memory travels in the body and
the header names it by offset and length.

Allowed values: None, bool, int, float (inf and nan too), str, bytes, list, tuple, dict
(any encodable keys), set, frozenset, torch tensors of every dtype (bfloat16 and float8 too), numpy
arrays and scalars, torch dtypes and devices, generator seeds (`GeneratorSeed`), remote
handles, and summaries of matplotlib figures (`FigureSummary`).

An object with no data encoding is handed to ``on_opaque`` (the worker turns it into a
handle that stays on its side); with no such callback it is an `Unencodable` error. The
decoder builds nothing but the types above: nothing that arrives can run code.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PREFIX = struct.Struct(">IQ")
MAX_HEADER = 64 << 20
MAX_BODY = 1 << 30
MAX_DEPTH = 64


class WireError(Exception):
    """A frame that breaks the protocol (truncated, oversized or malformed)."""


class Unencodable(WireError):
    """A value with no data encoding and nowhere to keep it as a handle."""


@dataclass(frozen=True)
class Handle:
    """A reference to an object that lives in the worker (as the wire carries it)."""

    id: int
    type_name: str


@dataclass(frozen=True)
class GeneratorSeed:
    """A ``torch.Generator`` the worker builds on ``device`` and seeds with ``seed``."""

    seed: int
    device: str = "cpu"


@dataclass
class LineSummary:
    label: str
    x: Any
    y: Any


@dataclass
class AxesSummary:
    title: str
    xlabel: str
    ylabel: str
    lines: list[LineSummary] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)


@dataclass
class FigureSummary:
    """What a spec may check of a matplotlib figure: its axes, lines and labels."""

    axes: list[AxesSummary] = field(default_factory=list)
    suptitle: str = ""


@dataclass
class RemoteMeta:
    """Facts about a tensor as it was in the worker, kept beside its CPU copy."""

    device: str
    requires_grad: bool
    has_grad_fn: bool


def remote_meta(tensor: Any) -> RemoteMeta | None:
    """The worker-side facts of a tensor that came over the wire (None for local ones)."""
    return getattr(tensor, "_lmprep_remote", None)


# ---------------------------------------------------------------- encoding


class _Encoder:
    def __init__(self, on_opaque: Callable[[Any], Handle] | None):
        self.on_opaque = on_opaque
        self.buffers: list[bytes | memoryview] = []
        self.offset = 0

    def buffer(self, data: bytes | memoryview) -> list[int]:
        start = self.offset
        self.buffers.append(data)
        self.offset += len(data)
        return [start, len(data)]

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise Unencodable("value nested too deeply")
        if value is None or value is True or value is False:
            return value
        kind = type(value)
        if kind is int:
            return value
        if kind is float:
            if math.isfinite(value):
                return value
            return {"$t": "float", "v": repr(value)}
        if kind is str:
            return value
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"$t": "tuple", "items": [self.encode(v, depth + 1) for v in value]}
        if kind is dict:
            items = [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]
            return {"$t": "dict", "items": items}
        if kind is set or kind is frozenset:
            return {"$t": kind.__name__, "items": [self.encode(v, depth + 1) for v in value]}
        if kind is bytes or kind is bytearray:
            return {"$t": "bytes", "buf": self.buffer(bytes(value))}
        if kind is Handle:
            return {"$t": "ref", "id": value.id, "type": value.type_name}
        if kind is GeneratorSeed:
            return {"$t": "generator", "seed": value.seed, "device": value.device}
        torch = sys.modules.get("torch")
        if torch is not None:
            if isinstance(value, torch.Tensor):
                return self.tensor(value, torch)
            if kind is torch.dtype:
                return {"$t": "dtype", "name": str(value).removeprefix("torch.")}
            if kind is torch.device:
                return {"$t": "device", "name": str(value)}
            if kind is torch.Size:
                return {"$t": "tuple", "items": list(value)}
        np = sys.modules.get("numpy")
        if np is not None:
            if kind is np.ndarray and value.dtype.kind not in "OV":
                return self.ndarray(value, np)
            if isinstance(value, np.generic) and value.dtype.kind not in "OV":
                return {"$t": "npscalar", "dtype": value.dtype.str, "buf": self.buffer(value.tobytes())}
        figure = sys.modules.get("matplotlib.figure")
        if figure is not None and isinstance(value, figure.Figure):
            return self.encode(summarise_figure(value), depth)
        if kind in (FigureSummary, AxesSummary, LineSummary):
            return {"$t": kind.__name__, "fields": self.encode(vars(value), depth + 1)}
        # subclasses of plain data (an IntEnum, a namedtuple, a list with a forged
        # ``__eq__``) travel as their base value: the other side gets data, not behaviour
        for base in (int, float, str, bytes, list, tuple, dict, set, frozenset):
            if isinstance(value, base):
                plain = dict(value.items()) if base is dict else base(value)
                return self.encode(plain, depth)
        if self.on_opaque is None:
            raise Unencodable(f"cannot send a value of type {kind.__qualname__}")
        handle = self.on_opaque(value)
        return {"$t": "ref", "id": handle.id, "type": handle.type_name}

    def tensor(self, value: Any, torch: Any) -> dict:
        if value.layout != torch.strided or value.is_quantized:
            raise Unencodable(f"cannot send a {value.layout} tensor")
        meta = {
            "$t": "tensor",
            "dtype": str(value.dtype).removeprefix("torch."),
            "shape": list(value.shape),
            "device": str(value.device),
            "requires_grad": bool(value.requires_grad),
            "grad_fn": value.grad_fn is not None,
        }
        data = value.detach()
        if data.is_conj():
            data = data.resolve_conj()
        if data.is_neg():
            data = data.resolve_neg()
        data = data.to("cpu").contiguous().reshape(-1)
        meta["buf"] = self.buffer(memoryview(data.view(torch.uint8).numpy()).cast("B") if data.numel() else b"")
        return meta

    def ndarray(self, value: Any, np: Any) -> dict:
        data = np.ascontiguousarray(value)  # note: makes a 0-d array 1-d; the shape below is value's
        return {
            "$t": "ndarray",
            "dtype": data.dtype.str,
            "shape": list(value.shape),
            "buf": self.buffer(data.tobytes()),
        }


def summarise_figure(fig: Any) -> FigureSummary:
    """The checkable content of a matplotlib Figure: axes, titles, labels, lines."""
    import numpy as np

    axes = []
    for ax in fig.get_axes():
        lines = [
            LineSummary(
                label=str(line.get_label()),
                x=np.asarray(line.get_xdata(), dtype=float),
                y=np.asarray(line.get_ydata(), dtype=float),
            )
            for line in ax.get_lines()
        ]
        legend = ax.get_legend()
        labels = [t.get_text() for t in legend.get_texts()] if legend is not None else []
        axes.append(AxesSummary(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), lines, labels))
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    return FigureSummary(axes, suptitle)


def encode(value: Any, on_opaque: Callable[[Any], Handle] | None = None) -> bytes:
    """One frame holding ``value``."""
    enc = _Encoder(on_opaque)
    header = json.dumps(enc.encode(value), separators=(",", ":"), allow_nan=False).encode()
    parts = [PREFIX.pack(len(header), enc.offset), header, *enc.buffers]
    return b"".join(parts)


# ---------------------------------------------------------------- decoding


class _Decoder:
    def __init__(self, body: bytes, on_ref: Callable[[int, str], Any] | None, on_generator):
        self.body = body
        self.on_ref = on_ref
        self.on_generator = on_generator

    def buf(self, spec: Any) -> bytes:
        if not (isinstance(spec, list) and len(spec) == 2 and all(type(v) is int for v in spec)):
            raise WireError("bad buffer reference")
        start, length = spec
        if start < 0 or length < 0 or start + length > len(self.body):
            raise WireError("buffer reference outside the frame")
        return self.body[start : start + length]

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            raise WireError("malformed value")
        tag = node.get("$t")
        if tag == "float":
            value = float(node["v"])
            if math.isfinite(value):
                raise WireError("finite float sent as a special value")
            return value
        if tag == "tuple":
            return tuple(self.decode(v, depth + 1) for v in node["items"])
        if tag == "dict":
            out = {}
            for key, value in node["items"]:
                key = self.decode(key, depth + 1)
                try:
                    out[key] = self.decode(value, depth + 1)
                except TypeError as exc:  # unhashable key
                    raise WireError(f"bad dict key: {exc}") from None
            return out
        if tag in ("set", "frozenset"):
            try:
                items = (self.decode(v, depth + 1) for v in node["items"])
                return set(items) if tag == "set" else frozenset(items)
            except TypeError as exc:  # unhashable member
                raise WireError(f"bad set member: {exc}") from None
        if tag == "bytes":
            return bytes(self.buf(node["buf"]))
        if tag == "ref":
            if self.on_ref is None:
                raise WireError("unexpected handle")
            return self.on_ref(int(node["id"]), str(node["type"]))
        if tag == "generator":
            seed, device = int(node["seed"]), str(node["device"])
            return self.on_generator(seed, device) if self.on_generator else GeneratorSeed(seed, device)
        if tag == "tensor":
            return self.tensor(node)
        if tag == "ndarray":
            import numpy as np

            dtype = _np_dtype(np, node["dtype"])
            shape = _shape(node["shape"])
            data = self.buf(node["buf"])
            return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
        if tag == "npscalar":
            import numpy as np

            dtype = _np_dtype(np, node["dtype"])
            return np.frombuffer(bytearray(self.buf(node["buf"])), dtype=dtype)[0]
        if tag == "dtype":
            import torch

            value = getattr(torch, str(node["name"]), None)
            if not isinstance(value, torch.dtype):
                raise WireError(f"unknown dtype {node['name']!r}")
            return value
        if tag == "device":
            import torch

            return torch.device(str(node["name"]))
        if tag in ("FigureSummary", "AxesSummary", "LineSummary"):
            cls = {"FigureSummary": FigureSummary, "AxesSummary": AxesSummary, "LineSummary": LineSummary}[tag]
            fields = self.decode(node["fields"], depth + 1)
            if not isinstance(fields, dict):
                raise WireError("malformed figure summary")
            try:
                return cls(**fields)
            except TypeError as exc:
                raise WireError(f"malformed figure summary: {exc}") from None
        raise WireError(f"unknown tag {tag!r}")

    def tensor(self, node: dict) -> Any:
        import torch

        dtype = getattr(torch, str(node["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise WireError(f"unknown dtype {node['dtype']!r}")
        shape = _shape(node["shape"])
        data = self.buf(node["buf"])
        count = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(data) != count * itemsize:
            raise WireError("tensor buffer does not match its shape")
        if count == 0:
            value = torch.empty(shape, dtype=dtype)
        else:
            value = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape)
        value._lmprep_remote = RemoteMeta(
            device=str(node.get("device", "cpu")),
            requires_grad=bool(node.get("requires_grad", False)),
            has_grad_fn=bool(node.get("grad_fn", False)),
        )
        return value


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(v) is int and v >= 0 for v in value):
        raise WireError("bad shape")
    return tuple(value)


def _np_dtype(np: Any, text: Any) -> Any:
    try:
        dtype = np.dtype(str(text))
    except TypeError:
        raise WireError(f"unknown numpy dtype {text!r}") from None
    if dtype.kind in "OV":
        raise WireError("object arrays are not data")
    return dtype


def decode(frame_header: bytes, body: bytes, on_ref=None, on_generator=None) -> Any:
    try:
        tree = json.loads(frame_header)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"malformed header: {exc}") from None
    try:
        return _Decoder(body, on_ref, on_generator).decode(tree)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise WireError(f"malformed value: {exc}") from None


# ---------------------------------------------------------------- framing over fds


def read_exact(fd: int, n: int, deadline_check: Callable[[], None] | None = None) -> bytes:
    chunks = []
    while n:
        if deadline_check is not None:
            deadline_check()
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline_check: Callable[[], None] | None = None) -> tuple[bytes, bytes]:
    """Read one frame; ``deadline_check`` runs before each blocking read."""
    head_len, body_len = PREFIX.unpack(read_exact(fd, PREFIX.size, deadline_check))
    if head_len > MAX_HEADER or body_len > MAX_BODY:
        raise WireError(f"frame too large ({head_len + body_len} bytes)")
    header = read_exact(fd, head_len, deadline_check)
    body = read_exact(fd, body_len, deadline_check)
    return header, body


def write_frame(fd: int, frame: bytes) -> None:
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]
