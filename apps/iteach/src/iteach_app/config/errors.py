"""The config's error type, apart so that every config module can raise it without a circle."""


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message names it (and the file)."""
