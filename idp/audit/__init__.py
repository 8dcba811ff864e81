"""The audit log: writing records, their hash chain and signed checkpoints."""
