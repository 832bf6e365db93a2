"""The web layer: views and what wraps them.

``views/`` (one module per area; shared helpers in ``views/common.py``), ``templating``
(filters, absolute URLs, site context), ``errors`` (styled error pages), ``assets``
(fingerprinted static URLs), and the WSGI layers ``prefix`` (mount prefix) and ``security``
(headers on every answer); ``accesslog`` is gunicorn's access logger.
"""
