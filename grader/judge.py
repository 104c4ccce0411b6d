"""The trusted judge: ``python -m grader.judge --challenge DIR --submission FILE --report-fd N``.

Runs in its own process, never executes learner code, and alone decides the verdict:

1. static checks on the source (syntax, forbidden names) — no process needed;
2. spawn the worker, then import pytest, torch and the reference while it starts;
3. import the submission in the worker and check its interface against the stub;
4. run the hidden specs with pytest and the grader plugin; one outcome per test;
5. write the Report as JSON to the pipe ``--report-fd``.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import platform
import shutil
import signal
import sys
import time
from pathlib import Path

from grader import challenge as challenge_mod
from grader import forbidden, limits, proxy
from grader.proxy import GraderFault, RemoteException, Session, SubmissionError, WorkerConfig
from grader.report import Outcome, Report, TestResult, Verdict, decide

TRUSTED_INI = str(Path(__file__).with_name("pytest.ini"))
OUTPUT_SHOWN = 64 << 10


def nvidia_present() -> bool:
    """Whether this machine has an NVIDIA GPU, found without initialising CUDA."""
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


class Judge:
    def __init__(
        self,
        challenge_dir: str,
        submission: str,
        device: str,
        workdir: str,
        public_only: bool = False,
        protected: list[str] = (),
    ):
        self.started = time.perf_counter()
        self.challenge = challenge_mod.load(challenge_dir)
        self.submission = os.path.realpath(submission)
        self.device = device
        self.workdir = workdir
        self.public_only = public_only
        self.timings: dict[str, float] = {}
        self.subreaper = limits.become_subreaper()
        # opened before any worker exists, so nothing planted in the folder can replace it
        self.log = limits.open_nofollow(os.path.join(workdir, "pytest.log"), "w")
        ch = self.challenge
        uses_cuda = device != "cpu" and "cuda" in ch.devices and nvidia_present()
        self.config = WorkerConfig(
            submission=self.submission,
            workdir=workdir,
            limits=ch.limits,
            forbidden=list(ch.forbidden),
            preload=list(ch.libraries),
            device="cuda" if uses_cuda else "cpu",
            cache_dir=os.path.join(os.environ["LMPREP_GRADER_CACHE"], "matplotlib")
            if os.environ.get("LMPREP_GRADER_CACHE")
            else None,
            # every challenge's specs, references and mutants, the judge's own files, what the caller names
            protected=[str(Path(challenge_dir).resolve().parent), workdir, *protected],
            sandbox=os.environ.get("LMPREP_SANDBOX", "on") != "off",
        )
        self.session = Session(self.config, ch.time_limit_s)
        self.report = Report(
            verdict=Verdict.INTERNAL_ERROR.value,
            challenge=ch.slug,
            device=self.config.device,
            limits=ch.limits.to_dict(),
            versions={"python": platform.python_version(), "challenge": ch.content_hash()},
        )

    # -------------------------------------------------------------- steps

    def finish(self, verdict: Verdict, message: str = "") -> Report:
        self.report.verdict = verdict.value
        self.report.message = message
        return self.report

    def static_checks(self) -> Report | None:
        try:
            source = Path(self.submission).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            return self.finish(Verdict.SYNTAX_ERROR, f"your file is not valid UTF-8 (byte {exc.start})")
        try:
            ast.parse(source, filename=self.submission)
        except SyntaxError as exc:
            return self.finish(Verdict.SYNTAX_ERROR, _syntax_message(exc))
        except ValueError as exc:  # null bytes
            return self.finish(Verdict.SYNTAX_ERROR, f"your file cannot be parsed: {exc}")
        hits = forbidden.static_scan(source, list(self.challenge.forbidden))
        if hits:
            hit = hits[0]
            # the verdict is the mistake, named: validate --feedback and the store see it as the diagnosis
            self.report.diagnosis = f"{hit.name} does the work this challenge asks for: write it yourself"
            return self.finish(
                Verdict.FORBIDDEN_API,
                f"line {hit.line}: uses {hit.name}, which this challenge forbids (implement it yourself)",
            )
        return None

    def load_submission(self) -> Report | None:
        try:
            self.session.ready()
        except GraderFault as exc:
            return self.finish(Verdict.INTERNAL_ERROR, with_remedy(str(exc)))
        except RemoteException as exc:
            return self.finish(Verdict.RUNTIME_ERROR, f"importing your file raised {exc}")
        except SubmissionError as exc:
            outcome = Outcome(exc.outcome)
            return self.finish(outcome.verdict, f"while importing your file: {exc or outcome.value}")
        hello = self.session.hello or {}
        self.report.isolation = limits.isolation_summary(
            hello.get("limits", {}), self.subreaper, hello.get("sandbox"), hello.get("memory")
        )
        self.report.limits["memory"] = hello.get("memory", {})
        if hello.get("skipped_libraries"):
            self.report.limits["libraries_not_installed"] = hello["skipped_libraries"]
        if hello.get("torch"):
            self.report.versions["torch"] = hello["torch"]
        problem = check_interface(self.challenge, self.session.interface or {})
        if problem:
            return self.finish(Verdict.INTERFACE_ERROR, problem)
        return None

    def devices(self) -> list[str]:
        if self.device == "auto":
            return list(self.challenge.devices)
        return [d for d in self.challenge.devices if d == self.device] or [self.device]

    def import_oracles(self) -> None:
        """pytest, the plugin and the reference (torch with it), while the worker starts."""
        import pytest  # noqa: F401

        from grader import plugin  # noqa: F401

        settle_hypothesis()
        self.reference = _import_reference(self.challenge.reference)
        torch = sys.modules.get("torch")
        if torch is not None:
            # oracles work on small tensors, where a second thread only waits (3x slower
            # on a busy 2-core machine); the worker keeps the challenge's own thread count
            torch.set_num_threads(1)
        self.timings["judge_imports_s"] = time.perf_counter() - self.started

    def run_specs(self) -> Report:
        import pytest

        from grader import plugin

        reference = self.reference
        self.timings["worker_ready_s"] = time.perf_counter() - self.started
        hello = self.session.hello or {}
        cuda = bool(hello.get("cuda"))
        plugin.CONTEXT = ctx = plugin.Context(
            session=self.session,
            reference=reference,
            devices=self.devices(),
            cuda_available=cuda,
            public_only=self.public_only,
        )
        log = self.log
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log
        try:
            code = pytest.main(
                [
                    str(self.challenge.spec_dir),
                    "-c",
                    TRUSTED_INI,
                    "--rootdir",
                    str(self.challenge.spec_dir),
                    # no conftest.py from the folders above the specs: the checkout's tests/,
                    # a project an instructor's bank sits in, site-packages (it ran in the judge)
                    "--confcutdir",
                    str(self.challenge.spec_dir),
                    "--import-mode=importlib",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    # its end-of-session gc.collect() x5 costs ~0.3 s and concerns the judge only
                    "-p",
                    "no:unraisableexception",
                    # what specs do not use and every test paid for (together ~13 % of
                    # scaled-dot-product-attention's spec phase): output capture (the judge's
                    # streams go to its log already), log capture, the per-test warnings
                    # recorder, and assertion rewriting (a spec's message is its own: the
                    # rewritten comparison could show a hidden expected value, see classify)
                    "--capture=no",
                    "-p",
                    "no:logging",
                    "-p",
                    "no:warnings",
                    "--assert=plain",
                ],
                plugins=[plugin],
            )
        finally:
            sys.stdout, sys.stderr = stdout, stderr
            log.close()
        self.timings["specs_s"] = time.perf_counter() - self.started - self.timings["worker_ready_s"]
        tests = self._results(ctx)
        self.report.tests = tests
        self.report.score = sum(t.points for t in tests)
        self.report.max_score = sum(t.max_points for t in tests if t.outcome != Outcome.SKIPPED.value)
        self.report.dtypes = sorted(
            {
                str(item.callspec.params["dtype"]).removeprefix("torch.")
                for item in ctx.items
                if hasattr(item, "callspec")
                and "dtype" in item.callspec.params
                and ctx.results[item.nodeid].outcome != Outcome.SKIPPED.value
            }
        )
        if "cuda" in ctx.devices and not cuda:
            self.report.devices_skipped = ["cuda"]
        if int(code) not in (0, 1):
            if ctx.collect_errors:
                return self.finish(
                    Verdict.INTERNAL_ERROR,
                    with_remedy(f"the specs could not be collected: {ctx.collect_errors[0]}"),
                )
            return self.finish(Verdict.INTERNAL_ERROR, f"the specs could not run (pytest exit code {int(code)})")
        verdict = decide(tests)
        shown = self.report.first_failure
        self.report.diagnosis = shown.diagnosis if shown else ""
        return self.finish(verdict, f"{shown.name}: {shown.message}" if shown else "")

    def _results(self, ctx) -> list[TestResult]:
        tests = []
        for item in ctx.items:
            result = ctx.results[item.nodeid]
            marker = item.get_closest_marker("points")
            worth = float(marker.args[0]) if marker else 1.0
            outcome = result.outcome or Outcome.ERROR.value
            message = result.message if result.outcome else "the test ended without an outcome"
            tests.append(
                TestResult(
                    id=item.nodeid,
                    name=_readable_name(item),
                    outcome=outcome,
                    points=worth if outcome == Outcome.PASSED.value else 0.0,
                    max_points=worth,
                    duration_s=round(result.duration_s, 4),
                    message=message,
                    public=item.get_closest_marker("public") is not None,
                    diagnosis=result.diagnosis if result.outcome else "",
                )
            )
        return tests

    def run(self) -> Report:
        try:
            report = self.static_checks()
            if report is None:
                self.session.spawn()  # the worker imports while we import
                try:
                    self.import_oracles()
                except Exception as exc:  # noqa: BLE001 - a missing dependency or a broken reference
                    return self.finish(
                        Verdict.INTERNAL_ERROR,
                        with_remedy(f"the grader could not load the specs' oracles: {type(exc).__name__}: {exc}"),
                    )
                report = self.load_submission() or self.run_specs()
        finally:
            self.session.close()
            self.timings["total_s"] = time.perf_counter() - self.started
            self.report.timings = {k: round(v, 4) for k, v in self.timings.items()}
            self.report.timings["workers_started"] = self.session.workers_started
            self.report.timings["calls"] = self.session.calls
            self.report.timings["calls_s"] = round(self.session.calls_s, 4)  # round trips to the worker, here
            self.report.timings["calls_worker_s"] = round(self.session.calls_worker_s, 4)  # the worker's part
            self._collect_output()
        return report

    def _collect_output(self) -> None:
        path = self.config.output_path
        try:
            with limits.open_nofollow(path, "rb") as fh:
                data = fh.read(OUTPUT_SHOWN + 1)
                size = os.fstat(fh.fileno()).st_size
        except OSError:
            return
        self.report.output = data[:OUTPUT_SHOWN].decode("utf-8", errors="replace")
        self.report.output_truncated = size > OUTPUT_SHOWN


# ---------------------------------------------------------------- helpers

REINSTALL = "a grading dependency is missing: reinstall lmprep with its dependencies (pip install lmprep)"


def with_remedy(message: str) -> str:
    """An Internal Error's message, with what to do where the cause is known."""
    return f"{message} ({REINSTALL})" if "No module named" in message else message


def _syntax_message(exc: SyntaxError) -> str:
    where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
    text = f"{where}: {exc.msg}"
    if exc.text:
        line = exc.text.rstrip("\n")
        stripped = line.lstrip()
        caret = " " * max((exc.offset or 1) - 1 - (len(line) - len(stripped)), 0) + "^"
        text += f"\n    {stripped}\n    {caret}"
    return text


def _readable_name(item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    first = doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""
    # a short docstring line names the test; a long one is documentation, not a name
    base = first if 0 < len(first) <= 48 else item.originalname.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    return f"{base} [{callspec.id}]" if callspec is not None else base


def _import_reference(path: Path):
    spec = importlib.util.spec_from_file_location("lmprep_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stub_interface(stub: Path) -> dict[str, dict]:
    """What the stub defines: functions with their parameters, classes with methods."""

    def params(fn: ast.FunctionDef, drop_self: bool) -> list[tuple[str, bool]]:
        args = fn.args
        positional = args.posonlyargs + args.args
        defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
        found = list(zip((a.arg for a in positional), defaults))
        found += [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
        return found[1:] if drop_self else found

    tree = ast.parse(stub.read_text(encoding="utf-8"))
    names: dict[str, dict] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = {"kind": "function", "params": params(node, False)}
        elif isinstance(node, ast.ClassDef):
            methods = {n.name: params(n, True) for n in node.body if isinstance(n, ast.FunctionDef)}
            names[node.name] = {"kind": "class", "methods": methods}
    return names


def _signature_problem(label: str, want: list[tuple[str, bool]], got: dict | None) -> str | None:
    if got is None or got.get("params") is None:
        return None  # a builtin or C callable: nothing to compare
    params = got["params"]
    if any(p["kind"] in ("VAR_POSITIONAL",) for p in params) and any(p["kind"] == "VAR_KEYWORD" for p in params):
        return None
    have = {p["name"]: p for p in params}
    wanted = [name for name, _ in want]
    call = f"{label}({', '.join(wanted)})"
    for name, _ in want:
        if name not in have and not any(p["kind"] == "VAR_KEYWORD" for p in params):
            return f"{call} is how the challenge calls it, but yours takes {got.get('text', '()')}: parameter `{name}` is missing"
    for p in params:
        if p["name"] not in wanted and not p["default"] and p["kind"] not in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            return f"{call} is how the challenge calls it, but yours also requires `{p['name']}`"
    order = [p["name"] for p in params if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    if order[: len(wanted)] != wanted[: len(order)] and not any(p["kind"] == "VAR_POSITIONAL" for p in params):
        return f"{call} is how the challenge calls it, but yours takes {got.get('text')}: the parameters are in another order"
    return None


def check_interface(ch: challenge_mod.Challenge, interface: dict) -> str | None:
    """A one-line problem with the submission's names and signatures, or None."""
    stub = _stub_interface(ch.stub)
    for name in ch.entry_points:
        got = interface.get(name)
        want = stub.get(name)
        if got is None:
            return f"your file does not define `{name}` (the challenge needs: {', '.join(ch.entry_points)})"
        if want is None:
            continue
        if want["kind"] != got["kind"]:
            article = "a class" if want["kind"] == "class" else "a function"
            return f"`{name}` should be {article}, but in your file it is a {got['kind']}"
        if want["kind"] == "function":
            problem = _signature_problem(name, want["params"], got)
        else:
            problem = None
            for method, params in want["methods"].items():
                if method == "__init__":
                    found = got.get("init")
                    label = name
                else:
                    found = got.get("methods", {}).get(method)
                    label = f"{name}.{method}"
                    if found is None:
                        return f"class `{name}` has no method `{method}`"
                    if found.get("params"):
                        found = {**found, "params": found["params"][1:]}  # drop self
                problem = _signature_problem(label, params, found)
                if problem:
                    break
        if problem:
            return problem
    return None


def stop_on_sigterm(workdir: str) -> None:
    """SIGTERM (from the caller, or the kernel when the caller dies) stops a judge and
    leaves nothing behind: the worker is killed and every descendant swept, as after a
    timeout, and the work directory is removed."""

    def stop(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        limits.sweep(os.getpid())
        shutil.rmtree(workdir, ignore_errors=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _stop_with_caller(parent_pid: int | None, workdir: str) -> None:
    """A judge lives only as long as its caller: PR_SET_PDEATHSIG sends SIGTERM when the
    caller dies; the parent is checked again after asking, since it may already be gone,
    and the worker's wait loop checks it too (`proxy.caller_gone`)."""
    stop_on_sigterm(workdir)
    if parent_pid:
        proxy.CALLER_PID = parent_pid
        limits.prctl(limits.PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)


def settle_hypothesis() -> None:
    """Make Hypothesis fit for a judge; once per process (the warm server: before it forks).

    - Its first test registers the global PRNG with a ``gc.collect()`` over every live
      object (0.14-0.2 s with torch imported). The objects alive now (the imports) are
      frozen first (`gc.freeze`), so that no collection walks them again (after a fork,
      their pages also stay shared), and the registration is done here.
    - 5 % of its draws come from constants it finds in the "local" modules loaded (an AST
      scan of each module outside site-packages and the standard library, ~65 ms per
      judge): a spec's examples would depend on where lmprep is installed and on what
      the process imported before. The judge draws from Hypothesis's own constants only.
    """
    import gc

    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.internal import entropy

    gc.freeze()
    with entropy.deterministic_PRNG():
        pass
    # what a spec's @settings does not say: the same examples on every run, no shrinking
    # nor explaining of a failure (the lstm-cell stub's one failing example re-ran the test
    # 210 times: 3.9 s of 8.3), nothing stored between gradings
    settings.register_profile(
        "lmprep-judge",
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        report_multiple_bugs=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
    settings.load_profile("lmprep-judge")
    try:  # (a Hypothesis without local constants has neither name)
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        none = Constants()
        providers._get_local_constants = lambda: none
        providers.CONSTANTS_CACHE.cache.clear()  # what a test run before in this process cached
    except (ImportError, AttributeError):
        pass


def judge_report(
    challenge: str, submission: str, device: str, workdir: str, public_only: bool, protected: list[str]
) -> Report:
    """Grade in this process (a judge: exec'd cold, or forked warm) and return the Report."""
    sys.dont_write_bytecode = True
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    limits.prctl(limits.PR_SET_DUMPABLE, 0)  # same-user processes cannot open /proc/<judge>/{mem,fd,environ}
    try:
        return Judge(challenge, submission, device, workdir, public_only, protected).run()
    except challenge_mod.ChallengeError as exc:
        return Report(verdict=Verdict.INTERNAL_ERROR.value, challenge=Path(challenge).name, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the grader's own fault, said in one line
        message = with_remedy(f"the judge failed: {type(exc).__name__}: {exc}")
        return Report(verdict=Verdict.INTERNAL_ERROR.value, challenge=Path(challenge).name, message=message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.judge")
    parser.add_argument("--challenge", required=True)
    parser.add_argument("--submission", required=True)
    parser.add_argument("--report-fd", type=int, required=True, help="a pipe for the Report (JSON)")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--public-only", action="store_true")
    parser.add_argument("--protect", action="append", default=[], help="a path the worker must not read")
    parser.add_argument("--parent-pid", type=int, help="stop when this process (the caller) is gone")
    args = parser.parse_args(argv)
    _stop_with_caller(args.parent_pid, args.workdir)
    report = judge_report(args.challenge, args.submission, args.device, args.workdir, args.public_only, args.protect)
    # through a pipe, not a file: nothing the worker plants in a folder can stand in for it
    with os.fdopen(args.report_fd, "w", encoding="utf-8") as fh:
        fh.write(report.to_json())
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown (torch's takes a few hundred ms); the report is written
