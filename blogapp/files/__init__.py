"""blogapp.files."""
