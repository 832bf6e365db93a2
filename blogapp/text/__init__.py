"""Text: a post's markdown becomes safe HTML, plain text and a summary. No Flask.

``markup`` renders (CommonMark + GFM, sanitized by nh3), ``plaintext`` walks its tokens to
the words a reader sees, ``summary`` makes what listings show (excerpt, words, reading time)
and ``documents.Documents`` is the one place a post's body becomes HTML or a summary.

Public surface: ``Documents``, ``render_markdown``, ``render_body``, ``Summary``.
"""
