"""The ``idres`` command: a thin shell over the library.

Each command group lives in its own module and registers itself on :data:`app`. :func:`main` turns
any :class:`idres.errors.IdresError` into one line per problem on stderr and exit status 2.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException as TyperClickException

# Command modules register their commands on `app` when imported; the order of registration is
# the order of `idres --help`.
# isort: off
from idres.cli import validate as _validate  # noqa: F401
from idres.cli import profiles as _profiles  # noqa: F401
from idres.cli import preview as _preview  # noqa: F401
from idres.cli import ml as _ml  # noqa: F401
from idres.cli import evaluate as _evaluate  # noqa: F401
from idres.cli import synth as _synth  # noqa: F401
from idres.cli import tune as _tune  # noqa: F401
from idres.cli import diff as _diff  # noqa: F401
from idres.cli import report as _report  # noqa: F401
from idres.cli import aws as _aws  # noqa: F401
from idres.cli import timeline as _timeline  # noqa: F401

# isort: on
from idres.cli._common import app, err_console
from idres.errors import IdresError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with `argv` (default: sys.argv[1:]); return the exit status."""
    try:
        code = app(args=argv, prog_name="idres", standalone_mode=False)
    except IdresError as exc:
        for problem in getattr(exc, "problems", ()) or [str(exc)]:
            err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except TyperClickException as exc:  # usage errors (standalone_mode=False lets them through)
        exc.show()
        return exc.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
