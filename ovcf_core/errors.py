"""Errors a user can cause, each with a message a clinician understands and the place it happened."""

from __future__ import annotations


class OvcfError(Exception):
    """Base of every error caused by the user's input; the CLI and pages show its message, not a traceback."""


class InputError(OvcfError):
    """Bad input data, naming the file, row and column (or DICOM tag) where it happened."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        """Return the message after where it happened: 'file, row 3, column 'hu': message'."""
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class AnalysisError(OvcfError):
    """A statistic that cannot be computed on this data (one class only, too few patients, ...)."""
