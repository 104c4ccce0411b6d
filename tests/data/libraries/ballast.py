"""A library that maps 3 GiB of address space when imported, as the CUDA build of torch
does (measured: ~3.2 GB on `import torch` without a GPU). tests/test_fresh_machine.py
names it in a challenge's `libraries`: the worker must still grade, and still catch an
allocation beyond the challenge's budget."""

import mmap

MAPPED = 3 << 30
# reserved, never touched: address space without resident memory, like a library's mappings
_ballast = mmap.mmap(-1, MAPPED, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0))
