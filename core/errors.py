"""Errors a user sees: each says what is wrong, where, and what to do."""


class NeedradarError(Exception):
    """An error caused by input, configuration or state the user can fix.

    The CLI prints its message as one line and exits non-zero; the service maps it to a 4xx.
    """


class ConfigError(NeedradarError):
    """A configuration file has an unknown key or a bad value."""


class DataError(NeedradarError):
    """Input data breaks the data contract."""


class ModelNotFoundError(NeedradarError):
    """No registered model (or alias) to load."""
