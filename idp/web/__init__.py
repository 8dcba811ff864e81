"""The web layer: the request pipeline around every view, serving and health (docs/architecture.md §3)."""
