"""blogapp.pagecache."""
