"""The ``assaykit`` command line.

``assaykit`` is a click group. Built-in commands: ``read`` and ``formats``
(:mod:`assaykit.cli.read`) and ``demo`` (:mod:`assaykit.cli.demo`). Workflow commands
plug in from optional modules named in :data:`COMMAND_MODULES`: a module
``assaykit/cli/<name>.py`` defines a click command called ``<name>`` (or a
``COMMANDS`` sequence of commands) and is added when it exists.

Command modules are imported only when needed (:data:`COMMAND_NAMES` says which module
defines which command), so ``assaykit --version`` or ``assaykit qpcr ...`` never pays for
the imports of the other workflows (FlowKit, image libraries, SciPy ...).

Errors: an :class:`~assaykit.errors.AssaykitError` or :class:`OSError` prints one line
``error: ...`` on stderr and exits with status 1; any other exception prints one line
too, with a hint to rerun with ``--debug``, which shows the full traceback instead.
Usage errors (unknown option, bad choice) exit with status 2, as usual for click.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from importlib.util import find_spec

import click

from assaykit._version import __version__
from assaykit.errors import AssaykitError

__all__ = ["COMMAND_MODULES", "COMMAND_NAMES", "main"]

#: Optional workflow command modules (``assaykit.cli.<name>``), added when present.
COMMAND_MODULES: tuple[str, ...] = ("elisa", "qpcr", "flow", "blot")

#: Command name → the module of ``assaykit.cli`` defining it, so that a command's module is
#: imported only when that command runs (modules of :data:`COMMAND_MODULES` missing here are
#: imported whenever the commands are listed).
COMMAND_NAMES: dict[str, str] = {
    "read": "read",
    "formats": "read",
    "demo": "demo",
    "immunoassay": "elisa",
    "elisa": "elisa",
    "qpcr": "qpcr",
    "flow": "flow",
    "blot": "blot",
}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _describe_os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


def _silence_stdout() -> None:
    """Point stdout at devnull so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


class AssaykitGroup(click.Group):
    """A click group loading its commands lazily, and turning exceptions into a one-line
    error unless ``--debug`` is given."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in COMMAND_MODULES:
            if name not in COMMAND_NAMES.values():
                _load(name)
        lazy = [c for c, mod in COMMAND_NAMES.items() if mod in _BUILTIN or mod in COMMAND_MODULES]
        return sorted(set(self.commands) | {c for c in lazy if _exists(COMMAND_NAMES[c])})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_NAMES:
            _load(COMMAND_NAMES[cmd_name])
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if isinstance(exc, BrokenPipeError):  # output piped into e.g. `head`: stop quietly
                _silence_stdout()
                ctx.exit(1)
            if ctx.params.get("debug"):
                raise
            if isinstance(exc, AssaykitError):
                msg = f"error: {_one_line(str(exc))}"
            elif isinstance(exc, OSError):
                msg = f"error: {_one_line(_describe_os_error(exc))}"
            else:
                msg = (
                    f"error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
                    "(this is a bug in assaykit; rerun with --debug to see the traceback)"
                )
            click.echo(msg, err=True)
            ctx.exit(1)


@click.group("assaykit", cls=AssaykitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="assaykit", message="%(prog)s %(version)s")
@click.option(
    "--debug",
    is_flag=True,
    envvar="ASSAYKIT_DEBUG",
    help="Show the full traceback of an error (also: ASSAYKIT_DEBUG=1).",
)
def main(debug: bool) -> None:
    """assaykit: instrument exports to correct, tidy, figure-ready results.

    Read a plate-reader or qPCR export into one tidy table, join it to a wellmap
    plate layout, and write CSV or Excel; run an analysis; or try it all on the
    bundled sample data with `assaykit demo`.
    """


_BUILTIN = ("read", "demo")


def _exists(module: str) -> bool:
    return find_spec(f"{__name__}.{module}") is not None


def _load(module: str) -> None:
    """Import ``assaykit.cli.<module>`` (if it exists) and add its commands to :func:`main`."""
    modname = f"{__name__}.{module}"
    try:
        mod = import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name != modname:
            raise
        return
    named = [getattr(mod, c) for c, m in COMMAND_NAMES.items() if m == module and hasattr(mod, c)]
    commands = getattr(mod, "COMMANDS", None) or named or (getattr(mod, module),)
    for cmd in commands:
        if cmd.name not in main.commands:
            main.add_command(cmd)


def _add_commands() -> None:
    """Import every command module now (the group otherwise loads them on demand)."""
    from assaykit.cli.demo import demo
    from assaykit.cli.read import formats, read

    for cmd in (read, formats, demo):
        main.add_command(cmd)
    for name in COMMAND_MODULES:
        _load(name)
