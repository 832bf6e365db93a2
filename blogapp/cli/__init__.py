"""blogapp.cli."""
