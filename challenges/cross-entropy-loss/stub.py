import torch


def cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy loss, with the same values and gradients as torch.nn.functional.cross_entropy.

    Args:
        logits: [N, C] unnormalised scores.
        target: [N] LongTensor of class ids in [0, C), or ``ignore_index``.
        ignore_index: samples whose target equals it contribute nothing (loss 0 under
            "none") and are not counted in the mean.
        label_smoothing: ε in [0, 1]; the target distribution is (1 − ε)·onehot + ε/C.
        reduction: "none" (per-sample losses [N]), "sum" or "mean" (over non-ignored samples;
            nan with zero gradients when every sample is ignored).

    Returns:
        [N] for "none", else a 0-d tensor; in logits' dtype, on logits' device.

    Raises:
        ValueError: if logits is not [N, C], target is not [N], label_smoothing is outside
            [0, 1], or reduction is unknown.
    """
    raise NotImplementedError
