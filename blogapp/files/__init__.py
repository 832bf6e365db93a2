"""Files on disk: path rules, image sizes, watching folders. No Flask.

``paths`` holds every rule for turning a name into a file (no hidden files, nothing outside
the folder, regular files only) and reads image sizes; ``inotify`` asks Linux whether a
folder changed; ``watched.PublicFiles`` fingerprints the public files the posts use, for the
content version.

Public surface: ``resolve_inside``, ``is_inside``, ``image_size``, ``Watch``, ``PublicFiles``.
"""
