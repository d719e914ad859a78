"""User-facing errors: one line, naming the file or value and what to do, and an exit code."""


class MemoError(Exception):
    """An error caused by input or environment the user can fix; printed without a traceback."""

    exit_code = 2


class NotIndexedError(MemoError):
    """The index has nothing for the company (or role) the user asked about."""

    exit_code = 3


class MissingDependencyError(MemoError):
    """An optional package is not installed; the message carries the install command."""

    exit_code = 4


def require(module: str, install: str):
    """Import `module` or raise MissingDependencyError with the pip command that fixes it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"the package {module!r} is missing ({exc.msg}); install it with: {install}"
        ) from None
