"""The page cache: whole answers in front of Flask.

``middleware.PageCache`` answers hits before routing (``@cacheable`` views opt in);
``key`` makes the build digest and the canonical query; ``entry`` stores a page compressed
with its ETags and answers 304s; ``lastmodified`` dates pages and feeds.
"""
