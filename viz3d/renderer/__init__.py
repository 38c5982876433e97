"""GL rendering: shader loading, the scene renderer, offscreen frames.

Importing this package touches no GL; its modules import vispy lazily.
"""
