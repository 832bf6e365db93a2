"""Images: responsive variants, their store, ``<picture>`` markup and generated cards.

``pixels`` decides the widths and formats a source gets and makes one variant (bounded
decode, orientation, sRGB, resize, encode); ``variantstore`` keeps them on disk within a byte
budget, deleting only what it wrote; ``encodes`` makes one encode per variant at a time;
``pictures`` writes ``srcset``/``sizes``/``<picture>`` for pages; ``social`` draws the SVG
cover placeholder and the PNG social card.
"""
