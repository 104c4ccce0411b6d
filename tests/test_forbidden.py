"""The static scan of forbidden names resolves import aliases."""

import pytest

from grader.forbidden import static_scan

FORBIDDEN = ["torch.nn.functional.softmax", "torch.softmax", "torch._VF", "torch.Tensor.softmax"]


@pytest.mark.parametrize(
    "source, name, line",
    [
        ("import torch\ny = torch.softmax(x, -1)", "torch.softmax", 2),
        ("import torch.nn.functional as F\n\n\nF.softmax(x)", "torch.nn.functional.softmax", 4),
        ("from torch.nn import functional as F\nF.softmax(x)", "torch.nn.functional.softmax", 2),
        ("from torch.nn.functional import softmax as s\n", "torch.nn.functional.softmax", 1),
        ("import torch as t\ndef f(x):\n    return t.nn.functional.softmax(x)", "torch.nn.functional.softmax", 3),
        ("from torch import _VF\n_VF.lstm_cell(x)", "torch._VF", 1),
        ("import torch\nf = torch.Tensor.softmax", "torch.Tensor.softmax", 2),
    ],
)
def test_forbidden_uses_are_found_with_their_line(source, name, line):
    hits = static_scan(source, FORBIDDEN)
    assert hits and hits[0].name == name and hits[0].line == line


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ndef softmax(x):\n    return torch.exp(x) / torch.exp(x).sum(-1, keepdim=True)\nsoftmax(x)",
        "import torch\ny = torch.softmaxed",
        "# torch.softmax in a comment\ns = 'torch.softmax'",
        "import numpy as torch\n",
    ],
)
def test_allowed_code_is_not_flagged(source):
    assert static_scan(source, FORBIDDEN) == []
