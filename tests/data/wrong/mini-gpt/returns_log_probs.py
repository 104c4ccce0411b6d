"""forward returns log-probabilities (log_softmax of the logits) instead of the raw scores. It
trains just as well (cross_entropy of log-probabilities is the same loss), but forward's
values are not the logits.

Diagnosis: log-probabilities
"""

import math

import torch
from torch import nn
from torch.nn import functional as F


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, bias: bool = True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        self.d_model, self.num_heads = d_model, num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, key_padding_mask=None, causal=False):
        for t in (query, key, value):
            if t.dim() != 3 or t.shape[-1] != self.d_model:
                raise ValueError("inputs must be [B, L, d_model]")
        if query.shape[0] != key.shape[0] or key.shape[:2] != value.shape[:2]:
            raise ValueError("batch sizes or key/value lengths differ")
        B, Lq, _ = query.shape
        Lk, Hn = key.shape[1], self.num_heads
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (B, Lk):
            raise ValueError("key_padding_mask must be [B, Lk]")
        if causal and Lq > Lk:
            raise ValueError("causal needs Lq <= Lk")
        hd = self.d_model // Hn
        q = self.q_proj(query).reshape(B, Lq, Hn, hd)
        k = self.k_proj(key).reshape(B, Lk, Hn, hd)
        v = self.v_proj(value).reshape(B, Lk, Hn, hd)
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(hd)
        keep = torch.ones(B, 1, Lq, Lk, dtype=torch.bool, device=query.device)
        if key_padding_mask is not None:
            keep = keep & ~key_padding_mask.bool().view(B, 1, 1, Lk)
        if causal:
            keep = keep & torch.ones(Lq, Lk, dtype=torch.bool, device=query.device).tril(Lk - Lq)
        any_key = keep.any(-1, keepdim=True)
        scores = torch.where(keep, scores, torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device))
        scores = torch.where(any_key, scores, torch.zeros_like(scores))
        weights = torch.where(any_key, scores.softmax(-1), torch.zeros_like(scores))
        heads = torch.einsum("bhqk,bkhe->bqhe", weights, v).reshape(B, Lq, self.d_model)
        return self.out_proj(heads), weights


class DecoderBlock(nn.Module):
    def __init__(self, d_model: int, num_heads: int, d_ff: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.fc1, self.fc2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x):
        n1 = F.layer_norm(x, x.shape[-1:], self.ln1.weight, self.ln1.bias, self.ln1.eps)
        x = x + self.attn(n1, n1, n1, causal=True)[0]
        n2 = F.layer_norm(x, x.shape[-1:], self.ln2.weight, self.ln2.bias, self.ln2.eps)
        return x + self.fc2(F.gelu(self.fc1(n2)))


class MiniGPT(nn.Module):
    def __init__(self, vocab_size, d_model, num_heads, num_layers, max_len, d_ff=None):
        super().__init__()
        self.max_len, self.vocab_size = max_len, vocab_size
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList([DecoderBlock(d_model, num_heads, d_ff or 4 * d_model) for _ in range(num_layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        with torch.no_grad():
            self.head.weight.normal_(0.0, 0.02)
            self.pos_emb.weight.normal_(0.0, 0.01)
        self.tok_emb.weight = self.head.weight  # tie (the embedding takes the head's Parameter)

    def forward(self, ids):
        B, T = ids.shape
        if T > self.max_len:
            raise ValueError(f"T = {T} > max_len = {self.max_len}")
        x = self.tok_emb.weight[ids] + self.pos_emb.weight[:T]
        for blk in self.blocks:
            x = blk(x)
        x = self.ln_f(x)
        return F.log_softmax(F.linear(x, self.tok_emb.weight), dim=-1)

    def train_on(self, text_ids, steps, seed):
        data = text_ids.long().view(-1)
        span = min(self.max_len, data.numel() - 1) + 1
        starts = list(range(0, data.numel() - span + 1, 16))
        batch = torch.stack([data[s : s + span] for s in starts])
        x, y = batch[:, :-1], batch[:, 1:]
        opt = torch.optim.AdamW(self.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.0)
        warm = max(1, steps // 20)

        def lr_at(step):
            if step < warm:
                return (step + 1) / warm
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
        out = []
        for _ in range(steps):
            logits = self(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.parameters(), 1.0)
            opt.step()
            sched.step()
            out.append(float(loss.detach()))
        return out
