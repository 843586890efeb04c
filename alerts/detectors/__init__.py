"""CPU detectors that score a camera's recent frames without any downloaded weights."""
