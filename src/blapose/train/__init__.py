"""Training: augmented batch building, training loops and their configs, prediction."""


def flush_subnormal_floats() -> None:
    """Make torch treat subnormal floats as zero on the CPU.

    Trained weights and Adam's moment estimates drift into subnormal range; x86 CPUs compute
    with those tens of times slower (measured here: a lifting-model epoch went from 15 to 0.7
    steps per second midway). Flushing them changes results by less than float32 rounding.
    """
    import torch

    torch.set_flush_denormal(True)
