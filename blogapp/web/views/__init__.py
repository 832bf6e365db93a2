"""Flask blueprints, one module per area of the site; shared helpers live in ``common``."""
