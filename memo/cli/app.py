"""The `memo` command line: the parser and `main`. Each command is a function whose docstring is
its --help; it parses its arguments, calls one library function and prints the result.

Only the standard library and memo.core are imported here: `memo --help` stays fast, and torch,
chromadb and transformers load inside the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from memo import __version__
from memo.cli.bench import add_bench_command
from memo.cli.commands import add_ask_command, add_index_commands, add_status_commands
from memo.cli.practice import add_practice_commands
from memo.cli.serving import add_serving_commands
from memo.cli.training import add_synth_command, add_train_command, add_train_reranker_command
from memo.core import notices
from memo.core.errors import PASS_THROUGH, MemoError, describe, record_failure
from memo.core.redaction import for_people

# The commands in the order `memo --help` lists them.
COMMANDS = (add_index_commands, add_ask_command, add_synth_command, add_train_command, add_train_reranker_command,
            add_serving_commands, add_bench_command, add_practice_commands, add_status_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memo", description="Answer job-interview questions grounded "
                                     "in a company's and a role's own documents.")
    parser.add_argument("--version", action="version", version=f"memo {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        doc = func.__doc__ or ""
        sub = commands.add_parser(name, help=doc.split("\n")[0], description=doc,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(func=func)
        return sub

    for add_commands in COMMANDS:
        add_commands(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every failure ends as one `memo: error:` line (secrets redacted, control
    characters escaped) and a non-zero exit code; a failure memo did not foresee keeps its
    traceback in MEMO_HOME/logs/errors.log instead of the terminal."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    notices.render_on_stderr()
    try:
        return args.func(args)
    except MemoError as exc:
        print(f"memo: error: {for_people(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("memo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - a library's error or a Rust panic: one line, not a traceback
        log = record_failure(exc, argv)
        where = f"; the details are in {log}" if log else ""
        print(f"memo: error: {args.command} failed unexpectedly ({for_people(describe(exc))}){where}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
