"""Data stages: dataset records, splits, exact video decoding, frames, split folders, tensors."""
