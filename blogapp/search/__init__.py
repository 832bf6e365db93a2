"""blogapp.search."""
