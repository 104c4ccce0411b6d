"""Wrong: returns only the generated ids, without the prompt in front.

Diagnosis: the prompt is missing
"""

from __future__ import annotations

import torch


@torch.no_grad()
def greedy_decode(model, prompt: torch.Tensor, max_new_tokens: int, eos_id: int | None = None) -> torch.Tensor:
    """prompt [T] int64 -> prompt + generated ids [T + n] int64."""
    if max_new_tokens < 0:
        raise ValueError("max_new_tokens must be >= 0")
    ids = prompt.detach().clone().long()  # (T,)
    for _ in range(max_new_tokens):
        logits = model(ids.unsqueeze(0))  # (1, t, V)
        next_id = torch.argmax(logits[0, -1])  # () first max = lowest id on ties
        ids = torch.cat([ids, next_id.view(1)])  # (t + 1,)
        if eos_id is not None and int(next_id) == eos_id:
            break
    return ids[len(prompt) :]
