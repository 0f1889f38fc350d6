"""Suite-wide settings.

`make test` runs two pytest workers on a 2-core machine; two torch intra-op threads per worker
would oversubscribe the cores, and torch's thread pool then waits on descheduled threads (tiny
kernels become milliseconds). One thread per worker keeps the suite fast; it changes no result.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)
