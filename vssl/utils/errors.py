"""One exit policy for every command: what counts as a user's mistake.

`UserError` is the project's error for a bad input, setting or environment (a corrupt store file, a
checkpoint that is not one); its message names the file or key. Raised by the standard library or
torch, `OSError` (missing or unreadable path, full disk), `ValueError` (bad value) and `TimeoutError`
(no free GPU) are user mistakes too. `vssl` prints any of them as ``vssl CMD: error: ...`` and exits
2, logged in the command's log file as well; everything else is a bug and keeps its traceback
(``vssl --debug`` shows one for user errors as well).
"""

from __future__ import annotations


class UserError(Exception):
    """A bad input, setting or environment, named in the message: one line and exit 2, never a traceback."""


USER_ERRORS: tuple[type[BaseException], ...] = (UserError, OSError, ValueError, TimeoutError)

__all__ = ["USER_ERRORS", "UserError"]
