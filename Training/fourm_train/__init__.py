"""Trainer for FourM's embedded demo model (see Training/README.md)."""
