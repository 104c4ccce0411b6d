"""The untrusted worker: imports the learner's submission and answers the judge's calls.

Started by the judge as ``python -I -B -c <bootstrap> <config json>`` with two inherited
pipe fds. Before any learner code runs it sets its own limits, pre-imports the libraries
the challenge names and installs the forbidden-API tripwires. It then serves requests
(one frame in, one frame out) until the judge closes the channel. Nothing it computes is
trusted: the judge only ever receives data, and decides every verdict itself.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import inspect
import json
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any

from grader import forbidden, limits, sandbox, wire

SUBMISSION_MODULE = "submission"
MEMORY_MARKERS = ("can't allocate memory", "out of memory", "not enough memory", "DefaultCPUAllocator")


class GraderSideError(Exception):
    """A request the grader itself got wrong (a spec bug): an Internal Error, not the learner's."""


class Worker:
    def __init__(self, config: dict):
        self.config = config
        self.read_fd = config["read_fd"]
        self.write_fd = config["write_fd"]
        self.submission_path = config["submission"]
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle id, so one object keeps one handle
        self.next_id = 1
        self.torch = None

    # ------------------------------------------------------------ handles

    def to_handle(self, obj: Any) -> wire.Handle:
        key = id(obj)
        hid = self.ids.get(key)
        if hid is None or self.objects.get(hid) is not obj:
            hid = self.next_id
            self.next_id += 1
            self.objects[hid] = obj
            self.ids[key] = hid
        return wire.Handle(hid, type(obj).__qualname__)

    def from_handle(self, hid: int, _type: str) -> Any:
        try:
            return self.objects[hid]
        except KeyError:
            raise wire.WireError(f"unknown handle {hid}") from None

    def make_generator(self, seed: int, device: str) -> Any:
        import torch

        gen = torch.Generator(device=device)
        gen.manual_seed(seed)
        return gen

    # ------------------------------------------------------------ wire

    def send(self, message: dict) -> None:
        wire.write_frame(self.write_fd, wire.encode(message, on_opaque=self.to_handle))

    def receive(self) -> Any:
        header, body = wire.read_frame(self.read_fd)
        return wire.decode(header, body, on_ref=self.from_handle, on_generator=self.make_generator)

    # ------------------------------------------------------------ requests

    def serve(self) -> None:
        while True:
            try:
                request = self.receive()
            except EOFError:
                return
            op = request.get("op")
            started = time.perf_counter()
            hits_before = len(forbidden.HITS)
            try:
                value, extra = getattr(self, f"op_{op}")(request)
                reply = {"ok": True, "value": value, **extra}
            except BaseException as exc:  # noqa: BLE001 - everything the learner raises is reported
                reply = {"ok": False, "error": self.error(exc, op)}
            if len(forbidden.HITS) > hits_before:
                reply = {"ok": False, "error": {"kind": "forbidden", "names": forbidden.HITS[hits_before:]}}
            reply["duration_s"] = time.perf_counter() - started
            _flush_output()
            try:
                self.send(reply)
            except wire.Unencodable as exc:
                self.send({"ok": False, "error": {"kind": "unencodable", "message": str(exc)}})
            except MemoryError:
                self.send({"ok": False, "error": {"kind": "memory", "type": "MemoryError", "message": ""}})

    def error(self, exc: BaseException, op: str) -> dict:
        """What the judge is told of an exception a request raised."""
        if isinstance(exc, forbidden.ForbiddenCall):
            return {"kind": "forbidden"}
        if isinstance(exc, GraderSideError):
            return {"kind": "grader", "message": str(exc)}
        if isinstance(exc, (KeyboardInterrupt, SystemExit)) and op != "import":
            return self.describe(exc, "exit")
        return self.describe(exc, "memory" if _is_memory_error(exc) else "exception")

    def describe(self, exc: BaseException, kind: str) -> dict:
        frames = [
            f"  line {f.lineno}, in {f.name}\n    {(f.line or '').strip()}"
            for f in traceback.extract_tb(exc.__traceback__)
            if os.path.realpath(f.filename) == os.path.realpath(self.submission_path)
        ]
        try:
            message = str(exc)
        except Exception:  # noqa: BLE001 - a learner's exception whose __str__ raises
            message = "<unprintable message>"
        builtin = type(exc).__module__ == "builtins"
        return {
            "kind": kind,
            "type": type(exc).__name__,
            "builtin": builtin,
            "message": message[:4000],
            "traceback": "\n".join(frames[-8:]),
            "lineno": getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None,
        }

    def op_ping(self, request: dict):
        return "pong", {}

    def op_import(self, request: dict):
        spec = importlib.util.spec_from_file_location(SUBMISSION_MODULE, self.submission_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[SUBMISSION_MODULE] = module
        spec.loader.exec_module(module)
        self.objects[0] = module
        self.ids[id(module)] = 0
        return _interface(module), {}

    def target(self, request: dict) -> Any:
        obj = self.from_handle(request["target"], "")
        for name in request.get("path", ()):
            obj = getattr(obj, name)
        return obj

    def op_getattr(self, request: dict):
        return getattr(self.from_handle(request["target"], ""), request["name"]), {}

    def op_setattr(self, request: dict):
        setattr(self.from_handle(request["target"], ""), request["name"], self.place(request["value"], request))
        return None, {}

    def place(self, value: Any, request: dict) -> Any:
        device = request.get("device")
        if device is None or device == "cpu":
            return value
        return _map_tensors(value, lambda t: t.to(device))

    def op_call(self, request: dict):
        fn = self.target(request)
        args = self.place(request.get("args", ()), request)
        kwargs = self.place(request.get("kwargs", {}), request)
        before = _snapshot((args, kwargs)) if request.get("check_mutation", True) else None
        value = fn(*args, **kwargs)
        extra = {}
        if before is not None:
            extra["mutated"] = _changed(before, _snapshot((args, kwargs)), args, kwargs)
        return value, extra

    def op_calls(self, request: dict):
        """The same callable on each argument tuple in turn, in one round trip (see
        `grader.spec.call_each`); stops at the first call that raises and says which.
        Inputs are not checked for mutation."""
        fn = self.target(request)
        values = []
        for args in request["calls"]:
            try:
                values.append(fn(*self.place(args, request)))
            except BaseException as exc:  # noqa: BLE001 - reported with the call's index
                return values, {"failed": {"index": len(values), "error": self.error(exc, "call")}}
        return values, {}

    def op_grad(self, request: dict):
        """Call with gradients (see `grad_call`)."""
        return grad_call(
            self.target(request),
            self.place(request.get("args", ()), request),
            self.place(request.get("kwargs", {}), request),
            request.get("wrt", ()),
            self.place(request.get("grad_outputs"), request),
        ), {}

    def op_fixture(self, request: dict):
        from grader import fixtures

        cls = fixtures.REGISTRY[request["name"]]
        obj = cls(*request.get("args", ()), **request.get("kwargs", {}))
        device = request.get("device")
        if device and device != "cpu" and hasattr(obj, "to"):
            obj = obj.to(device)
        return self.to_handle(obj), {}

    def op_seed(self, request: dict):
        """Seed every global RNG (torch, numpy, random) with ``seed``: a spec reproduces a
        learner's random initialisation, as ``torch.manual_seed(seed)`` before it would."""
        seed = int(request["seed"])
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.manual_seed(seed)
        np = sys.modules.get("numpy")
        if np is not None:
            np.random.seed(seed)
        import random

        random.seed(seed)
        return None, {}

    def op_rng_digest(self, request: dict):
        """A digest of every global RNG state, to prove a submission left them alone."""
        digest = hashlib.sha256()
        torch = sys.modules.get("torch")
        if torch is not None:
            digest.update(torch.get_rng_state().numpy().tobytes())
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                for state in torch.cuda.get_rng_state_all():
                    digest.update(state.numpy().tobytes())
        np = sys.modules.get("numpy")
        if np is not None:
            digest.update(repr(np.random.get_state()[1][:8].tolist()).encode())
        import random

        digest.update(repr(random.getstate()).encode())
        return digest.hexdigest(), {}


# ---------------------------------------------------------------- helpers


def _flush_output() -> None:
    """Push what the learner printed to the output file before the judge may kill us."""
    for stream in (sys.__stdout__, sys.__stderr__, sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a replaced or closed stream
            pass


def _is_memory_error(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:  # mmap, os.fork under the limit
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in MEMORY_MARKERS)


def grad_call(fn, args, kwargs, wrt, grad_outputs) -> dict:
    """Call ``fn`` with gradients: inputs named in ``wrt`` become leaves, backward runs
    with ``grad_outputs``; returns the output, input grads and parameter grads.

    A ``wrt`` entry is an argument index, a keyword, or a path into nested arguments
    (``(2, 0)``: the first tensor of the tuple passed third). Parameter gradients come
    from the target module (or a bound method's module) and from every module passed
    as an argument.
    """
    import torch

    args, kwargs = list(args), dict(kwargs)
    leaves = {}
    for key in wrt:
        path = list(key) if isinstance(key, (list, tuple)) else [key]
        try:
            if isinstance(path[0], int):
                args, leaf = _make_leaf(args, path)
            else:
                kwargs, leaf = _make_leaf(kwargs, path)
        except (IndexError, KeyError, TypeError, AttributeError) as exc:
            raise GraderSideError(f"wrt entry {key!r} names no tensor argument ({exc})") from None
        leaves[tuple(path) if len(path) > 1 else path[0]] = leaf
    modules = [fn if isinstance(fn, torch.nn.Module) else getattr(fn, "__self__", None)]
    modules += [v for v in [*args, *kwargs.values()] if isinstance(v, torch.nn.Module)]
    params: dict[str, torch.nn.Parameter] = {}
    seen: set[int] = set()
    for index, module in enumerate(m for m in modules if isinstance(m, torch.nn.Module)):
        for name, p in module.named_parameters():
            if id(p) in seen:
                continue
            seen.add(id(p))
            params[name if name not in params else f"module{index}.{name}"] = p
            p.grad = None
    with torch.enable_grad():
        output = fn(*args, **kwargs)
    outs = [t for t in _flatten(output) if isinstance(t, torch.Tensor)]
    grads = _flatten(grad_outputs)
    if len(outs) != len(grads):
        raise GraderSideError(f"grad_outputs has {len(grads)} tensors for {len(outs)} outputs")
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
    if pairs:
        torch.autograd.backward([o for o, _ in pairs], [g.to(o.dtype) for o, g in pairs])
    return {
        "output": _map_tensors(output, lambda t: t.detach()),
        "input_grads": {k: leaf.grad for k, leaf in leaves.items()},
        "param_grads": {name: p.grad for name, p in params.items()},
    }


def _make_leaf(container: Any, path: list) -> tuple[Any, Any]:
    """``container`` with the tensor at ``path`` replaced by a fresh leaf that requires grad."""
    head, rest = path[0], path[1:]
    if rest:
        inner, leaf = _make_leaf(container[head], rest)
    else:
        inner = leaf = container[head].detach().clone().requires_grad_(True)
    if isinstance(container, tuple):
        return (*container[:head], inner, *container[head + 1 :]), leaf
    container = type(container)(container)  # list or dict: a copy, the caller's stays as it was
    container[head] = inner
    return container, leaf


def _flatten(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    return [value]


def _map_tensors(value: Any, fn) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, list):
        return [_map_tensors(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_map_tensors(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map_tensors(v, fn) for k, v in value.items()}
    return value


def _snapshot(value: Any) -> Any:
    """A comparable copy of the data in ``value`` (objects behind handles are skipped)."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if torch is not None and isinstance(value, torch.Tensor):
        data = value.detach().to("cpu").contiguous().reshape(-1)
        return ("tensor", tuple(value.shape), str(value.dtype), bytes(data.view(torch.uint8).numpy()))
    if np is not None and isinstance(value, np.ndarray) and value.dtype.kind not in "OV":
        return ("ndarray", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_snapshot(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), _snapshot(v)) for k, v in value.items()))
    if isinstance(value, set):
        return ("set", frozenset(value))
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    return ("opaque", id(value))


def _changed(before: Any, after: Any, args: Any, kwargs: dict) -> list:
    """Which top-level arguments (index or keyword) changed during the call."""
    (b_args, b_kwargs), (a_args, a_kwargs) = before[1], after[1]
    changed = [i for i, (b, a) in enumerate(zip(b_args[1], a_args[1])) if b != a]
    changed += [k for (k, b), (_, a) in zip(b_kwargs[1], a_kwargs[1]) if b != a]
    return changed


def _describe_callable(obj: Any) -> dict:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return {"params": None, "text": "(...)"}
    params = [
        {"name": p.name, "kind": p.kind.name, "default": p.default is not inspect.Parameter.empty}
        for p in sig.parameters.values()
    ]
    return {"params": params, "text": str(sig)}


def _interface(module: Any) -> dict:
    """The names a submission defines, with their kinds and signatures."""
    names = {}
    for name, obj in vars(module).items():
        if name.startswith("__"):
            continue
        if inspect.isclass(obj):
            methods = {
                m: _describe_callable(getattr(obj, m))
                for m, v in vars(obj).items()
                if callable(v) and not (m.startswith("__") and m != "__init__")
            }
            names[name] = {"kind": "class", "init": _describe_callable(obj), "methods": methods}
        elif callable(obj):
            names[name] = {"kind": "function", **_describe_callable(obj)}
        else:
            names[name] = {"kind": "value"}
    return names


# ---------------------------------------------------------------- start-up


def _memory_watchdog(limit_bytes: int) -> None:
    """With CUDA the address space cannot be limited: watch resident memory instead."""
    page = os.sysconf("SC_PAGE_SIZE")

    def watch() -> None:
        while True:
            try:
                with open("/proc/self/statm") as fh:
                    rss = int(fh.read().split()[1]) * page
            except OSError:
                return
            if rss > limit_bytes:
                os._exit(limits.MEMORY_WATCHDOG_EXIT)
            time.sleep(0.05)

    threading.Thread(target=watch, name="lmprep-memory-watchdog", daemon=True).start()


def preload(names: list[str]) -> list[str]:
    """Import the challenge's libraries; returns those not installed here, skipped: the
    learner cannot import them either, so there is nothing to guard. A library that is
    installed but fails to import is the machine's fault and raises."""
    skipped = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            skipped.append(name)
    return skipped


def main(argv: list[str] | None = None) -> None:
    run(json.loads((argv or sys.argv)[1]))


def run(config: dict) -> None:
    """Everything a worker does once its process exists (exec'd cold, or forked warm)."""
    limits.die_with_parent()
    if os.getppid() != config["judge_pid"]:
        os._exit(1)  # the judge died before we got here
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: output past the cap ends the worker
    isolate = config.get("sandbox", True)
    # namespaces need a single-threaded process: before any library starts threads
    namespaces = sandbox.enter_namespaces() if isolate else {"applied": False, "why": "turned off (LMPREP_SANDBOX=off)"}
    lim = limits.Limits(**config["limits"])
    applied = limits.apply_to_self(lim)
    worker = Worker(config)
    hello: dict[str, Any] = {"pid": os.getpid(), "limits": applied, "cuda": None, "preload_error": None}
    step = "could not load the challenge's libraries"
    try:
        hello["skipped_libraries"] = preload(config.get("preload", ()))
        torch = sys.modules.get("torch")
        cuda = False
        if torch is not None:
            torch.set_num_threads(lim.threads)
            hello["cuda"] = bool(torch.cuda.is_available())
            hello["torch"] = torch.__version__
            cuda = config.get("device") == "cuda" and hello["cuda"]
            if cuda:
                step = "could not initialise CUDA"
                torch.zeros(1, device="cuda")  # the CUDA context is the grader's, not the learner's budget
        step = "could not set up the forbidden-API guards"
        hello["tripwires"] = forbidden.install_tripwires(
            config.get("forbidden", []), config["submission"], [config["fixtures_dir"]]
        )
        # what the libraries mapped is measured now: the learner's budget comes on top
        hello["memory"] = memory = limits.limit_memory(lim, cuda=cuda)
        if "resident_limit_mb" in memory:
            _memory_watchdog(memory["resident_limit_mb"] << 20)
        # the libraries are loaded: from here on the worker opens only what it is allowed to
        step = "could not confine itself"
        landlock = (
            sandbox.confine_worker(
                submission=config["submission"],
                home=os.getcwd(),
                protected=config.get("protected", []),
                extra_write=[config["cache_dir"]] if config.get("cache_dir") else [],
            )
            if isolate
            else {"applied": False, "why": "turned off (LMPREP_SANDBOX=off)"}
        )
        hello["sandbox"] = {"namespaces": namespaces, "landlock": landlock}
    except BaseException as exc:  # noqa: BLE001 - reported to the judge as a machine fault
        hello["preload_error"] = f"{step}: {type(exc).__name__}: {exc}"
    _learners_warnings(config["submission"])
    worker.send(hello)
    worker.serve()


def _learners_warnings(submission: str) -> None:
    """Warnings as a learner reads them under "Your code printed": each one once, as
    ``RuntimeWarning: overflow encountered in exp (line 12 of your file)``, the line given
    where it is in their file, never a library's path."""
    seen: set = set()
    mine = os.path.realpath(submission)

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = f"{category.__name__}: {message}"
        if os.path.realpath(filename) == mine:
            text += f" (line {lineno} of your file)"
        if text not in seen:
            seen.add(text)
            with contextlib.suppress(Exception):
                sys.stderr.write(text + "\n")

    warnings.showwarning = show


if __name__ == "__main__":
    main()
