"""Trainable modules that translate into hardware."""

from elasticai.creator.nn.sequential import Sequential

__all__ = ["Sequential"]
