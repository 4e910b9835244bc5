"""How idres's two memory allocators hand freed memory back to the system.

Polars' allocator (jemalloc): keep freed memory 10 s. numpy's (glibc malloc): optionally, keep large
blocks in one heap while rule keys are built (:func:`heap_kept`).

Polars ships jemalloc configured to return freed pages after 0.5 s. idres allocates and frees
hundreds of MB per step at 10M profiles (a batch of columns read, merged, dropped; the next one
read), and on a virtual machine whose memory the host backs lazily, pages handed back are slow to
get again (README: about 2.5–5.5 s per GB in some hours). Keeping freed pages for 10 s, jemalloc's
own default, lets the next step reuse them: in alternating 10M previews the process's system time
fell from 43–52 s to 39 s (totals 74.3 / 69.5 / 78.0 s against 68.8 / 70.4 / 73.1 s), for about
0.4 GB more peak memory. It also keeps one arena for every thread (``narenas:1``; jemalloc's
default is four per CPU), so memory one thread frees is what the next allocation gets, whichever
thread makes it: rule keys alone took 1.37M page faults instead of 1.81M (system time 12.2-12.8 s
against 14.6-18.4 s) and alternating 10M previews 53.5 s (55.1, 53.5, 53.3) against 55.7 s (64.6,
55.7, 53.2); the benchmark's floor, which runs with the same setting, did not get slower.

jemalloc reads its settings once, when Polars is loaded, so :func:`keep_freed_memory` runs when
``idres`` is imported, before it imports Polars. It changes nothing when Polars was loaded first,
or when ``_RJEM_MALLOC_CONF`` is already set (set it, even to an empty string, to keep Polars'
defaults). Polars puts its own defaults in front of that variable's value, so ours override them.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: The environment variable Polars' jemalloc reads its settings from.
POLARS_ALLOCATOR_ENV: Final = "_RJEM_MALLOC_CONF"
#: Freed pages kept 10 s (dirty, then muzzy) and purged by jemalloc's background thread; one
#: arena shared by all threads.
POLARS_ALLOCATOR_CONF: Final = (
    "background_thread:true,dirty_decay_ms:10000,muzzy_decay_ms:10000,narenas:1"
)


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


#: glibc's ``mallopt`` parameters (``malloc.h``) and the defaults restored after :func:`heap_kept`.
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_MAX: Final = -4
_M_ARENA_MAX: Final = -8
_DEFAULT_TRIM_THRESHOLD: Final = 128 * 1024
_DEFAULT_MMAP_MAX: Final = 65536


def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (``mallopt`` and ``malloc_trim``), else None."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextmanager
def heap_kept(enabled: bool = True) -> Iterator[bool]:
    """While the block runs, glibc keeps freed large blocks (numpy's big arrays) in one heap for
    the next ones instead of unmapping them; afterwards the heap is trimmed. Yields whether the
    setting applies (glibc only; `enabled` False changes nothing).

    Rule keys allocate and free gigabytes of numpy arrays at 10M profiles, from several threads.
    By default glibc maps each array over 32 MB afresh and unmaps it when freed (and a worker
    thread's arena maps anything over 64 MB, whatever the settings), so every one costs page
    faults, which on a virtual machine are dear, and each unmapping a TLB flush on every core.
    Here every thread allocates from the main heap (``M_ARENA_MAX=1``), nothing is mapped apart
    (``M_MMAP_MAX=0``) and nothing is trimmed; on exit the defaults return and ``malloc_trim``
    gives the heap's free memory back. numpy also stops asking for huge pages inside the block
    (restored after): the heap's pages are reused, and a fresh huge page costs its whole 2 MB
    at once (on these VMs a fresh 2 GB array took 3.4–5.8 s in huge pages, 0.8 s in 4 KB ones).

    Process-wide effects, hence opt-in (``idres preview`` and ``idres diff`` opt in): glibc
    fixes its number of arenas when it first needs one, so a process whose threads first
    allocate inside the block keeps one arena; and setting these parameters turns off glibc's
    dynamic mmap threshold.

    >>> with heap_kept(enabled=False) as applied:
    ...     applied
    False
    """
    libc = _glibc() if enabled else None
    if libc is None:
        yield False
        return
    libc.mallopt(_M_ARENA_MAX, 1)
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    huge_pages = _numpy_huge_pages(False)
    try:
        yield True
    finally:
        _numpy_huge_pages(huge_pages)
        libc.mallopt(_M_ARENA_MAX, 0)
        libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
        libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
        libc.malloc_trim(0)


def _numpy_huge_pages(enabled: bool) -> bool:
    """Set whether numpy advises huge pages for its large arrays (what ``NUMPY_MADVISE_HUGEPAGE``
    sets at import); returns the previous setting (unchanged, True, where numpy lacks the hook)."""
    from numpy._core import multiarray

    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    return bool(setter(enabled)) if setter is not None else True


# Imported first by ``idres/__init__.py``, so this runs before anything in idres loads Polars.
keep_freed_memory()
