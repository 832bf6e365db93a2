"""WebSub publishing (issue 24): tell the hubs in BLOG_WEBSUB_HUBS when a feed changes.

- ``topics``: the feeds a set of visible posts makes (site, tags, authors; each format), their
  public URLs, and what each one shows (to notice which changed);
- ``claims``: who publishes (one leader among all workers and hosts) and "this (feed URL, ETag)
  was claimed once" — in Redis when the page cache is shared, else files in BLOG_STATE_DIR;
- ``hub``: one ``hub.mode=publish`` request, bounded, and its retries with backoff;
- ``publisher``: the background loop in each gunicorn worker (only the leader works), and
  ``publish_by_hand`` for ``flask websub publish``.

Discovery (the hub and self links in the feeds) belongs to the feeds view; nothing here runs in
a request's path.
"""

from .hub import silent_hubs
from .publisher import Publisher
from .publisher import publish_by_hand
from .publisher import start
from .topics import feed_urls

__all__ = ["Publisher", "feed_urls", "publish_by_hand", "silent_hubs", "start"]
