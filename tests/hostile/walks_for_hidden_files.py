# expect: Accepted
# needs: landlock
# challenge: toy-walk
"""Correct answers, after searching every folder the worker can list for the content a
learner must never read, the way an attacker would rather than only at known paths:

- roots: "/" and its entries, a list of usual top-level folders, every entry of sys.path,
  the prefixes, the parents of all of those, the cwd, $HOME and the real home, the
  mount points, the absolute paths on the judge's command line, where importlib says
  lmprep and grader live, the checkout an editable install points at (direct_url.json,
  .pth files met on the way), and the progress database's folder;
- targets: a reference.py, any file under spec/, or a mutants/*.py beside a
  challenge.toml; any file named lmprep.db (and {{DATABASE}} itself); a readable .git
  beside a challenges/ folder (the object store holds every file's history); every
  challenge file that lmprep's installed RECORD lists; and a glob for
  */temperature-softmax/reference.py under every root.

Anything that opens ends in an exception naming the first paths, so the verdict is not
Accepted and its message says what leaked. The walk's extent is printed (captured output).
"""
import glob
import importlib.metadata
import importlib.util
import json
import os
import pwd
import stat
import sys
import time
from urllib.parse import unquote, urlparse

DATABASE = "{{DATABASE}}"
COMMON = (
    "/", "/home", "/root", "/tmp", "/var", "/var/tmp", "/srv", "/mnt", "/media", "/opt", "/work",
    "/workspace", "/usr", "/usr/local", "/etc", "/lib", "/lib64", "/bin", "/sbin", "/run", "/boot",
    "/data", "/app", "/code", "/src", "/builds", "/github", "/__w", "/scratch", "/nix", "/snap",
    "/old_root", "/farm", "/private", "/Users",
)
SKIP = ("/proc", "/sys", "/dev")
VIRTUAL = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
           "securityfs", "bpf", "mqueue", "configfs", "fusectl", "pstore", "hugetlbfs", "binfmt_misc"}
SLUGS = ("temperature-softmax", "stable-softmax", "toy-sum", "toy-walk", "toy-tensor")
# names tried inside a folder that exists but cannot be listed
GUESSED_CHILDREN = (
    ".git", "challenges", "tests", "data", "lmprep", "_content", "reference", "src", "build", "dist",
    ".venv", "venv", "lib", "site-packages", "main", "share", ".local", "work", "repo", "checkout",
)
DEADLINE_S = 45.0  # toy-walk allows 60 s; past this the walk is reported as unfinished

LEAKED = {}  # why -> the paths that opened
seen_targets = set()
skip_mounts = set(SKIP)
stats = {"folders": 0, "entries": 0, "refused": 0}


def found(path, why):
    LEAKED.setdefault(why, []).append(path)


def leak(path, why):
    """Try to read a byte of ``path`` (regular files only, so a FIFO cannot block us)."""
    if path in seen_targets:
        return
    seen_targets.add(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.read(fd, 1)
            found(path, why)
    except OSError:
        pass
    finally:
        os.close(fd)


def readable_folder(path):
    try:
        os.listdir(path)
        return True
    except OSError:
        return False


def files_below(folder, depth=4):
    """Every regular file under ``folder`` that can be listed (a spec/ may have subfolders)."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and depth:
                yield from files_below(entry.path, depth - 1)
            elif not entry.is_dir():
                yield entry.path
        except OSError:
            pass


def look_at_challenge(folder):
    leak(os.path.join(folder, "reference.py"), "reference")
    for path in files_below(os.path.join(folder, "spec")):
        leak(path, "hidden spec")
    for path in files_below(os.path.join(folder, "mutants"), 0):
        if path.endswith(".py"):
            leak(path, "mutant")


def look_at_bank(folder):
    """A folder that may hold challenges: each child, and the known slugs by guess."""
    for slug in SLUGS:
        look_at_challenge(os.path.join(folder, slug))
    for path in glob.glob(os.path.join(glob.escape(folder), "*", "challenge.toml")):
        look_at_challenge(os.path.dirname(path))


def with_parents(path):
    path = os.path.abspath(path)
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def paths_in_text(text):
    for token in text.replace("\0", "\n").split():
        for piece in token.split(os.pathsep):
            if piece.startswith("file://"):
                piece = unquote(urlparse(piece).path)
            if piece.startswith("/") and "\n" not in piece:
                yield piece


def mounts():
    try:
        with open("/proc/self/mountinfo") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    points = []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        if right.split()[:1] and right.split()[0] in VIRTUAL:
            skip_mounts.add(point)
        else:
            points.append(point)
    return points


def installed_places():
    """Where importlib and the installed metadata say lmprep's code and content live."""
    places = []
    for name in ("lmprep", "grader"):
        try:
            spec = importlib.util.find_spec(name)
        except Exception:
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            places += [folder, os.path.join(folder, "_content"), os.path.dirname(folder)]
    try:
        dist = importlib.metadata.distribution("lmprep")
    except Exception:
        return places
    try:
        places += list(paths_in_text(json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")))
    except Exception:
        pass
    for file in dist.files or []:
        parts = file.parts
        if "challenges" in parts and (file.name == "reference.py" or "spec" in parts or "mutants" in parts):
            leak(str(file.locate()), "listed in lmprep's RECORD")
        if file.name == "challenge.toml":
            places.append(str(file.locate().parent.parent))
    try:
        import lmprep.bank  # an attacker asks the installed package itself

        places.append(str(lmprep.bank.challenges_dir()))
        places.append(str(lmprep.bank.content_root()))
    except Exception:
        pass
    return places


def judge_paths():
    """The absolute paths on the judge's command line (--challenge, --workdir, ...)."""
    paths = []
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:
            paths += paths_in_text(fh.read().decode(errors="replace"))
    except OSError:
        pass
    try:
        paths.append(os.readlink(f"/proc/{os.getppid()}/cwd"))
    except OSError:
        pass
    return paths


def roots():
    paths = list(COMMON)
    try:
        paths += [os.path.join("/", name) for name in os.listdir("/")]
    except OSError:
        pass
    paths += [p for p in sys.path if p]
    paths += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.getcwd()]
    paths += [os.environ.get("HOME", "/"), pwd.getpwuid(os.getuid()).pw_dir, os.path.dirname(DATABASE)]
    for value in os.environ.values():
        paths += paths_in_text(value)
    paths += mounts() + judge_paths() + installed_places()
    ordered = []
    for path in paths:
        for each in with_parents(path):
            if each not in ordered:
                ordered.append(each)
    return ordered


def skipped(path):
    return any(path == s or path.startswith(s.rstrip("/") + "/") for s in skip_mounts)


def look_at_checkout(folder, names=None):
    """A readable .git beside a challenges/ folder: the object store holds every file's history."""
    has = (lambda n: n in names) if names is not None else (lambda n: os.path.isdir(os.path.join(folder, n)))
    if has("challenges") and has(".git") and readable_folder(os.path.join(folder, ".git", "objects")):
        found(os.path.join(folder, ".git", "objects"), "the checkout's history")


def walk(start):
    visited = set()
    stack = list(reversed(start))
    stdlib = os.stat(os.path.dirname(os.__file__))
    saw_stdlib = False
    while stack:
        if time.monotonic() > DEADLINE:
            raise RuntimeError(f"the walk did not finish in {DEADLINE_S:g} s ({stats}); {summary()}")
        folder = stack.pop()
        if skipped(folder):
            continue
        try:
            info = os.stat(folder)  # a root may be a symbolic link; entries below are not followed
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or (info.st_dev, info.st_ino) in visited:
            continue
        visited.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            # it exists but cannot be listed: its children may still be readable (a sandbox
            # that cuts one folder out of a tree allows that folder's siblings one by one)
            stats["refused"] += 1
            look_at_challenge(folder)  # the judge's --challenge, say
            look_at_bank(folder)
            look_at_checkout(folder)
            stack += [os.path.join(folder, child) for child in GUESSED_CHILDREN]
            continue
        stats["folders"] += 1
        stats["entries"] += len(entries)
        saw_stdlib = saw_stdlib or (info.st_dev, info.st_ino) == (stdlib.st_dev, stdlib.st_ino)
        names = {entry.name for entry in entries}
        if "challenge.toml" in names:
            look_at_challenge(folder)
        if "challenges" in names:
            look_at_bank(os.path.join(folder, "challenges"))
            look_at_checkout(folder, names)
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                stack.append(entry.path)
            elif entry.name == "lmprep.db":
                leak(entry.path, "a progress database")
            elif entry.name.endswith(".pth") or entry.name == "direct_url.json":
                try:  # an editable install names its checkout here
                    with open(entry.path, errors="replace") as fh:
                        stack += [p for p in paths_in_text(fh.read(1 << 16)) if os.path.isabs(p)]
                except OSError:
                    pass
    if not saw_stdlib and not LEAKED:
        raise RuntimeError(f"the walk never listed the standard library's folder: it proves nothing ({stats})")


def summary():
    """A few paths of each kind that opened, for the verdict's message."""
    count = sum(len(paths) for paths in LEAKED.values())
    kinds = "; ".join(f"{why} ({len(paths)}): {', '.join(paths[:2])}" for why, paths in LEAKED.items())
    return f"read {count} hidden files: {kinds}" if count else "read no hidden file"


STARTED = time.monotonic()
DEADLINE = STARTED + DEADLINE_S
leak(DATABASE, "the progress database")
leak(os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".local", "share", "lmprep", "lmprep.db"), "a progress database")
ROOTS = roots()
for root in ROOTS:
    look_at_bank(os.path.join(root, "challenges"))
    for pattern in ("*", "*/*", "*/*/*"):
        for path in glob.glob(os.path.join(glob.escape(root), pattern, "temperature-softmax", "reference.py")):
            leak(path, "glob")
walk(ROOTS)
print(
    f"walked {stats['folders']} folders ({stats['entries']} entries, {stats['refused']} refused) "
    f"from {len(ROOTS)} roots in {time.monotonic() - STARTED:.1f} s; {summary()}"
)


def total(xs):
    if LEAKED:
        raise RuntimeError(summary())
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
