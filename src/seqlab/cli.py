"""The ``seqlab`` command. Thin: each subcommand calls the public functions a Python user calls."""

from __future__ import annotations

import argparse
import sys

from seqlab import __version__


def _recurrences(_: argparse.Namespace) -> int:
    from seqlab.recurrent import RECURRENCES, recurrence_options

    for name in sorted(RECURRENCES):
        options = ", ".join(f"{k}={v!r}" for k, v in recurrence_options(name).items()) or "no options"
        print(f"{name:8s} {RECURRENCES[name].__name__:10s} {options}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from seqlab import demo

    return demo.main([])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqlab", description="Sequence models you can read and run.")
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("recurrences", help="list the registered recurrences and their options").set_defaults(
        func=_recurrences
    )
    sub.add_parser(
        "demo", help="stream a sequence through every recurrence and check all paths agree"
    ).set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
