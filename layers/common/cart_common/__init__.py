"""The cart API's shared layer: settings, database access, sessions, models, errors, the resolver.

Cold start: importing the layer (psycopg, pydantic, Powertools, our models) leaves about 77,000
objects for the cyclic collector to track, and the collector runs ever larger collections over them
as the heap grows: 10-15 ms of init on the bench machine. In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is
always set there) collection therefore waits until the handler is built. ``init_done()`` then
freezes what init built, so later collections skip it, and turns the collector back on. About a
third of those objects are init's garbage; collecting them first would cost ~27 ms and leave RSS
where it is (48 MB either way, measured), so they are frozen with the rest and their few MB stay
allocated for the life of the environment. Every entry point wears ``api.observed``, which calls
``init_done()`` once the handler exists, and every function imports ``cart_common`` before any
other library; tests check both. Outside Lambda nothing changes.
"""

import gc
import os

_gc_paused = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and gc.isenabled()
if _gc_paused:
    gc.disable()


def init_done() -> None:
    """End of the function's init: freeze what it built and resume garbage collection."""
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()
