"""HTTP views: thin, one domain call each (STYLE.md point 6)."""
