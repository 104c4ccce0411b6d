"""BERT masking whose labels keep the original id only where the input became the mask
token: the selected positions that got a random id or stayed unchanged are labelled -100.

Diagnosis: random id or left unchanged
"""

import torch


def mask_tokens(input_ids, mask_token_id, vocab_size, special_tokens_mask=None, mlm_probability=0.15, generator=None):
    if not 0.0 <= mlm_probability <= 1.0:
        raise ValueError(f"mlm_probability must be in [0, 1], got {mlm_probability}")
    device = input_ids.device
    probs = torch.full(input_ids.shape, mlm_probability, device=device)
    if special_tokens_mask is not None:
        probs.masked_fill_(special_tokens_mask.bool(), 0.0)
    selected = torch.bernoulli(probs, generator=generator).bool()
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
    labels = input_ids.long().masked_fill(~masked, -100)  # only the [MASK] positions are labelled
    return inputs, labels
