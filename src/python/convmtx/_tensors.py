"""Array arguments as numpy arrays, and results back as the type the caller gave.

Every array argument of convmtx accepts a numpy array, a nested list or a CPU torch.Tensor (also one
with requires_grad: it is detached, and shares its memory with the numpy view, so no copy is made
for a contiguous float32/float64 tensor). A function whose main input was a tensor returns a tensor.
"""

import numpy as np

__all__ = ["is_tensor", "to_numpy", "like"]


def is_tensor(a):
    """True for a torch.Tensor (checked without importing torch)."""
    return type(a).__module__.startswith("torch") and hasattr(a, "detach") and hasattr(a, "numpy")


def to_numpy(a, name):
    """a as a numpy array: torch tensors detached (CPU memory shared, no copy), lists converted.

    Raises ValueError for a tensor that is not on the CPU, naming the argument and its device.
    """
    if isinstance(a, np.ndarray):
        return a
    if is_tensor(a):
        if a.device.type != "cpu":
            raise ValueError(f"{name} is a torch tensor on device '{a.device}'; convmtx computes on the CPU: "
                             f"pass {name}.cpu()")
        import torch

        t = a.detach()
        if t.layout != torch.strided:
            raise ValueError(f"{name} is a sparse torch tensor ({t.layout}); pass a dense tensor")
        if t.is_conj():
            t = t.resolve_conj()
        return t.numpy()
    return np.asarray(a)


def like(result, template):
    """result (a numpy array) as a torch tensor when template is one (sharing memory), else unchanged."""
    if is_tensor(template):
        import torch

        return torch.from_numpy(np.ascontiguousarray(result))
    return result
