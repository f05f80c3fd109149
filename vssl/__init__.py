"""vssl-bench: video self-supervised learning benchmark suite (3DRotNet, V3S)."""

__version__ = "0.1.0"
