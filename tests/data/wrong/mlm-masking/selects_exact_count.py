"""BERT masking that selects exactly round(p * n) positions per row (a random permutation of
the non-special positions) instead of flipping an independent coin per position: the
number selected is fixed instead of binomial.

Diagnosis: exactly round(p * T)
"""

import torch


def mask_tokens(input_ids, mask_token_id, vocab_size, special_tokens_mask=None, mlm_probability=0.15, generator=None):
    if not 0.0 <= mlm_probability <= 1.0:
        raise ValueError(f"mlm_probability must be in [0, 1], got {mlm_probability}")
    device = input_ids.device
    probs = torch.full(input_ids.shape, mlm_probability, device=device)
    if special_tokens_mask is not None:
        probs.masked_fill_(special_tokens_mask.bool(), 0.0)
    rows = input_ids.reshape(-1, input_ids.shape[-1]) if input_ids.dim() else input_ids.reshape(1, 1)
    allowed = (probs > 0).reshape(rows.shape)
    selected = torch.zeros(rows.shape, dtype=torch.bool, device=device)
    for r in range(rows.shape[0]):
        candidates = allowed[r].nonzero().flatten()
        k = round(mlm_probability * len(candidates))
        order = torch.randperm(len(candidates), generator=generator, device=device)
        selected[r, candidates[order[:k]]] = True
    selected = selected.reshape(input_ids.shape)
    masked = torch.bernoulli(torch.full(input_ids.shape, 0.8, device=device), generator=generator).bool() & selected
    random = (
        torch.bernoulli(torch.full(input_ids.shape, 0.5, device=device), generator=generator).bool()
        & selected
        & ~masked
    )
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator, device=device, dtype=input_ids.dtype)
    inputs = input_ids.clone()
    inputs[masked] = mask_token_id
    inputs[random] = random_ids[random]
    labels = input_ids.long().masked_fill(~selected, -100)
    return inputs, labels
