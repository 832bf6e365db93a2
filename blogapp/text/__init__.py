"""blogapp.text."""
