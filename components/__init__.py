"""Pulumi components, one family per external system, and the pure access model."""
