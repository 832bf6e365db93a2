"""blogapp.posts."""
