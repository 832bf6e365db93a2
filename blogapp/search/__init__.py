"""Finding posts: full-text search and related posts.

``fulltext`` keeps an SQLite FTS5 index of the visible posts per content version (``words``
strips markdown cheaply for it); ``related`` picks a post's neighbours by shared tags, then by
"more like this" over that index.
"""
