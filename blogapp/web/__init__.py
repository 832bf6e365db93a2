"""blogapp.web."""
