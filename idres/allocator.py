"""How long Polars' memory allocator keeps freed memory before handing it back to the system.

Polars ships jemalloc configured to return freed pages after 0.5 s. idres allocates and frees
hundreds of MB per step at 10M profiles (a batch of columns read, merged, dropped; the next one
read), and on a virtual machine whose memory the host backs lazily, pages handed back are slow to
get again (README: about 2.5–5.5 s per GB in some hours). Keeping freed pages for 10 s, jemalloc's
own default, lets the next step reuse them: in alternating 10M previews the process's system time
fell from 43–52 s to 39 s (totals 74.3 / 69.5 / 78.0 s against 68.8 / 70.4 / 73.1 s), for about
0.4 GB more peak memory.

jemalloc reads its settings once, when Polars is loaded, so :func:`keep_freed_memory` runs when
``idres`` is imported, before it imports Polars. It changes nothing when Polars was loaded first,
or when ``_RJEM_MALLOC_CONF`` is already set (set it, even to an empty string, to keep Polars'
defaults). Polars puts its own defaults in front of that variable's value, so ours override them.
"""

from __future__ import annotations

import os
import sys
from typing import Final

#: The environment variable Polars' jemalloc reads its settings from.
POLARS_ALLOCATOR_ENV: Final = "_RJEM_MALLOC_CONF"
#: Freed pages kept 10 s (dirty, then muzzy) and purged by jemalloc's background thread.
POLARS_ALLOCATOR_CONF: Final = "background_thread:true,dirty_decay_ms:10000,muzzy_decay_ms:10000"


def _polars_loaded() -> bool:
    """Whether the Polars library (hence its allocator) is loaded in this process."""
    return any(m == "polars" or m.startswith("_polars_runtime") for m in sys.modules)


def allocator_environ() -> dict[str, str]:
    """The environment entry for a child process that should allocate as the ``idres`` command
    does, whatever it imports first (Polars adds its own defaults in front of it)."""
    return {POLARS_ALLOCATOR_ENV: POLARS_ALLOCATOR_CONF}


def keep_freed_memory() -> bool:
    """Ask Polars' allocator to keep freed memory 10 s, if Polars is not loaded yet and the
    environment does not already choose; returns whether the setting will take effect.

    >>> keep_freed_memory()  # doctests run after Polars is loaded: too late, nothing changes
    False
    """
    if _polars_loaded() or POLARS_ALLOCATOR_ENV in os.environ:
        return False
    os.environ[POLARS_ALLOCATOR_ENV] = POLARS_ALLOCATOR_CONF
    return True


# Imported first by ``idres/__init__.py``, so this runs before anything in idres loads Polars.
keep_freed_memory()
