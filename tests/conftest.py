"""Suite-wide settings.

Unit tests use tiny tensors, where PyTorch's intra-op threads cost more in
synchronisation than they save (measured 4-5x slower with 2 threads on the
2-core CI machine while other work runs), so tests run single-threaded.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
