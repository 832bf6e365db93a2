"""blogapp.images."""
