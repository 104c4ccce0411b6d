# expect: Accepted
# needs: landlock
"""Correct answers, after trying to read the hidden spec, the reference, the progress
database and the user's home; any success ends in an exception naming what leaked."""
import os
import pwd


def _judge_argument(flag, otherwise):
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:  # the command line is public
        args = fh.read().decode().split("\0")
    # a warm judge is forked by the grading server, whose command line names nothing
    return args[args.index(flag) + 1] if flag in args else otherwise


def _targets():
    challenge = _judge_argument("--challenge", "{{CHALLENGE}}")  # where the bank is, is no secret
    home = pwd.getpwuid(os.getuid()).pw_dir
    yield os.path.join(challenge, "spec", "test_sum.py")
    yield os.path.join(challenge, "reference.py")
    yield os.path.join(challenge, "challenge.toml")
    yield os.path.join(home, ".local", "share", "lmprep", "lmprep.db")
    yield "{{DATABASE}}"
    yield "{{HOME_SECRET}}"
    yield os.path.join(_judge_argument("--workdir", os.path.dirname(os.getcwd())), "pytest.log")


LEAKED = []
for path in _targets():
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        LEAKED.append(path)
    except OSError:
        pass
try:
    os.listdir(pwd.getpwuid(os.getuid()).pw_dir)
    LEAKED.append("the home folder's listing")
except OSError:
    pass


def total(xs):
    if LEAKED:
        raise RuntimeError(f"read {LEAKED}")
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
