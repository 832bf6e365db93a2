"""The author's commands: ``flask --app blogapp new|check|images|export``.

``commands`` registers them; ``newpost`` picks a free name and writes a draft; ``lint`` makes
``check --strict``'s warnings; ``pregen`` makes every linked image variant (``progress`` shows
how far it is); ``export`` and ``exportdir`` write the site as static files into a folder that
is safe to replace.
"""
