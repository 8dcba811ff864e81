"""Taxpayers: entities, roles and the numbers that name them."""
