"""ML Explorer: see machine-learning algorithms work."""
import os

# One BLAS thread (unless the user set it): the app's matrices are small, and on a busy 2-core machine
# two OpenBLAS threads spin against the other work (measured: a 1797 x 64 covariance took 62 ms with two
# threads under load, 0.4 ms with one; a 64 x 64 eigh 52 ms against 0.6 ms). Set before NumPy loads
# OpenBLAS, which happens after this package is imported by `ml-explorer` and `python -m explorer`;
# worker processes inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
