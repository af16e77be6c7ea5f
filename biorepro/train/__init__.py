"""Training: the model, the input pipeline, the fit, determinism, the device, weight files."""
