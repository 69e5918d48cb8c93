"""Forward and backward of every op, on batches (numpy; recurrent ops on numba)."""
