"""User-facing errors and the Finding record, in one place.

Exception tree (every user-facing failure is one of these; the CLI maps
``exit_code`` to the process exit status and prints ``str(error)``, never a
traceback)::

    CatalogGenError            exit 2  base class; message says what, where, how to fix
    ├── UsageError             exit 2  bad command line: unknown path, bad flag value
    ├── InputError             exit 2  a file the user named cannot be read or parsed as needed
    ├── CatalogInvalid         exit 1  validation found errors; carries the findings
    └── ToolError              exit 2  a dependency failed (Helm, a schema file); wraps the cause

A *finding* is not an exception: checks return findings, the CLI decides what
they mean for the exit code (1 when any has severity ``error``).

Exit codes, documented in the README:
    0    clean (warnings allowed)
    1    findings of severity error / a check failed / drift found
    2    usage error, unreadable input, output path unusable, output folder locked, internal or tool failure
    130  stopped by SIGINT (Ctrl-C), 128 + 2 as shells report it
    143  stopped by SIGTERM (CI cancelling the job), 128 + 15

Stopping by a signal is not a CatalogGenError: SIGINT raises KeyboardInterrupt and
SIGTERM raises ``Terminated`` (a KeyboardInterrupt, so every cleanup that undoes a
half-done write runs for both). A signal that arrives after a command's result is in
place (the charts swapped in, only clean-up left) undoes nothing: the writer records
that point with ``note_committed`` and the CLI says the result is complete.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


_COMMITTED: list[str] = []  # results this process put in place (an interrupt after this undoes nothing)


def note_committed(what: str) -> None:
    """Record that `what` (e.g. "the charts in charts/") is written whole; an interrupt from now on undoes nothing."""
    _COMMITTED.append(what)


def committed() -> list[str]:
    return list(_COMMITTED)


def forget_committed() -> None:
    """A new command starts (the CLI's main): nothing of it is in place yet."""
    _COMMITTED.clear()


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; raised by the CLI's handler so cleanup runs as for Ctrl-C (exit 143)."""


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place.

    ``file`` is relative to the working directory where possible; ``line`` and
    ``column`` are 1-based (0 means "the whole file"); ``pointer`` is an RFC 6901
    JSON pointer into the document the finding is about.
    """

    file: str
    line: int
    column: int
    pointer: str
    code: str
    severity: Severity
    message: str
    hint: str = ""
    # Lint findings also say which object and template they are about.
    object: str = ""
    template: str = ""
    template_line: int = 0
    # Lint: the chart directory, and the 1-based line in the rendered manifest (0 = not about one).
    chart: str = ""
    rendered_line: int = 0

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.severity.rank, self.code, self.pointer, self.message)

    def as_dict(self) -> dict:
        data = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
        }
        if self.object:
            data["object"] = self.object
        if self.template:
            data["template"] = self.template
            data["template_line"] = self.template_line
        if self.chart:
            data["chart"] = self.chart
        if self.rendered_line:
            data["rendered_line"] = self.rendered_line
        return data


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


class CatalogGenError(Exception):
    """Base of every user-facing error. ``str(err)`` is the whole message."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(CatalogGenError):
    """The command line asks for something impossible."""


class InputError(CatalogGenError):
    """A file or URL the user named cannot be used."""


class ToolError(CatalogGenError):
    """A dependency (Helm, a schema, the network) failed underneath us."""


class CatalogInvalid(CatalogGenError):
    """Validation found errors; nothing downstream may run."""

    exit_code = EXIT_FINDINGS

    def __init__(self, findings: list[Finding]) -> None:
        errors = [f for f in findings if f.severity is Severity.ERROR]
        super().__init__(
            f"the catalog has {len(errors)} error(s); nothing was written",
            hint="run `catalog-gen validate` for every finding with its file and line",
        )
        self.findings = findings
