"""The root of Weir's error tree.

Every error Weir raises on purpose derives from :class:`WeirError`. The layers add their own
branches (``spec`` its validation errors, ``expr`` its expression errors, and so on); the API maps
them to status codes in one place. A message names the object, the place and the fix, and never a
secret value.
"""


class WeirError(Exception):
    """Base class of every error Weir raises on purpose."""

    code = "weir_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
