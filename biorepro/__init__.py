"""biorepro: reproducible, content-addressed biometric PAD experiments."""

__version__ = "0.1.0"
