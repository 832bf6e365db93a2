"""Posts: files in, plain values out. No Flask.

The folder is read by ``store.ContentStore`` (its only reader: change detection with
``files.inotify``, a memo per file, the fork pool for big reads), one file at a time by
``loader`` (size limit, UTF-8, ``post.parse_post`` with ``frontmatter``'s bounded YAML and
``fastyaml``'s fast path, ``yamlhints`` saying how to fix a common YAML mistake; ``fields``
cleans each field and names the ``PostError``s), with ``references`` (the public files a post
shows). ``catalog`` says what they add up to: the ``Snapshot`` of one state of the folder and
the ``Visible`` visible at a moment.

Public surface: ``ContentStore``, ``Post``, ``PostError``, ``Snapshot``, ``Visible``.
"""
