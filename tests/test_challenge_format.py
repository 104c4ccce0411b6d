"""challenge.toml validation: errors name the file and the field."""

import shutil

import pytest

from grader.challenge import ChallengeError, load
from tests.conftest import TOY_CHALLENGES


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "toy-sum"
    shutil.copytree(TOY_CHALLENGES / "toy-sum", target)
    return target


def edit(folder, old, new):
    toml = folder / "challenge.toml"
    toml.write_text(toml.read_text().replace(old, new))


def test_valid_folder_loads_typed(folder):
    ch = load(folder)
    assert ch.slug == "toy-sum" and ch.time_limit_s == 2.0 and ch.entry_points == ("total", "Accumulator")
    assert ch.limits.memory_limit_mb == 512 and [m.name for m in ch.mutants] == ["off_by_one.py"]


@pytest.mark.parametrize(
    "old, new, error",
    [
        ('difficulty = "easy"', 'difficulty = "trivial"', "difficulty: must be one of easy, medium, hard"),
        ("order = 1", 'order = "first"', "order: must be int, not str"),
        ('title = "Sum a list"\n', "", "title: missing"),
        ('slug = "toy-sum"', 'slug = "other"', "slug: 'other' differs from the folder's name 'toy-sum'"),
        ('forbidden = ["math.fsum"]', 'forbidden = ["math.fsum()"]', "forbidden: 'math.fsum()' is not a dotted name"),
        ("time_limit_s = 2.0", "time_limit_s = 2.0\ncolour = 1", "colour: unknown field"),
        ("time_limit_s = 2.0", "time_limit_s = [", "not valid TOML"),
        ('kind = "code"', 'kind = "essay"', "kind: must be one of code, quiz"),
    ],
)
def test_errors_name_file_and_field(folder, old, new, error):
    edit(folder, old, new)
    with pytest.raises(ChallengeError) as info:
        load(folder)
    assert str(info.value).startswith(str(folder / "challenge.toml") + ": ")
    assert error in str(info.value)


def test_missing_part_is_named(folder):
    shutil.rmtree(folder / "mutants")
    with pytest.raises(ChallengeError, match=r"toy-sum/mutants: missing"):
        load(folder)


def test_not_a_challenge_folder(tmp_path):
    with pytest.raises(ChallengeError, match="not found"):
        load(tmp_path)
