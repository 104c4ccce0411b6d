"""BERT masking that draws the random replacement with probability 0.1 among the selected
positions not masked, instead of 0.5 of them: only 2% of the selected positions get a random
id (and 18% stay unchanged) instead of 10% and 10%.

Diagnosis: random id
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
        torch.bernoulli(torch.full(input_ids.shape, 0.1, device=device), generator=generator).bool()
        & selected
        & ~masked
    )
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator, device=device, dtype=input_ids.dtype)
    inputs = input_ids.clone()
    inputs[masked] = mask_token_id
    inputs[random] = random_ids[random]
    labels = input_ids.long().masked_fill(~selected, -100)
    return inputs, labels
