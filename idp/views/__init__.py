"""HTTP views: thin, one domain call each (docs/architecture.md §12.2)."""
