"""The `profitguard` command: a thin dispatcher over one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and
sets ``func`` (taking the parsed args, returning an exit status). Modules import
their heavy dependencies (Freqtrade, pandas) inside ``func``, so ``profitguard
simulate`` starts in milliseconds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from profitguard.commands.usage import UsageError

# subcommand -> module that registers it
SUBCOMMANDS: dict[str, str] = {
    "simulate": "profitguard.commands.simulate",
    "exchange": "profitguard.commands.exchange",
    "data": "profitguard.commands.data",
    "demo": "profitguard.commands.demo",
    "guard": "profitguard.commands.guard",
    "offline": "profitguard.commands.offline",
    "report": "profitguard.commands.report",
    "compare": "profitguard.commands.compare",
    "sweep": "profitguard.commands.sweep",
    "chaos": "profitguard.commands.chaos",
    "dashboard": "profitguard.commands.dashboard",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, as argparse does
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported."""
    parser = _Parser(
        prog="profitguard",
        description="profitguard: position management for Freqtrade (R-multiples, stop "
        "ladders, take-profits, a risk gate). `profitguard demo` starts here.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module_name in SUBCOMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except UsageError as exc:
        print(f"profitguard {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return closed_pipe()


# The status of a command whose output pipe was closed (`profitguard guard status | head`):
# what a shell reports for a process ended by SIGPIPE.
CLOSED_PIPE_STATUS = 128 + 13


def closed_pipe() -> int:
    """The reader of stdout went away: end quietly. The rest of the output goes to
    /dev/null, so the interpreter's own flush at exit has nothing to complain about."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return CLOSED_PIPE_STATUS


if __name__ == "__main__":  # `python -m profitguard.cli`: use the package's own classes
    from profitguard.cli import main as package_main

    sys.exit(package_main())
