"""Runnable examples of relying parties integrating with qdtax-idp (not part of the package)."""
