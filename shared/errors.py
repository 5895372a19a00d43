"""Root of the product's error hierarchy. Every message says what to fix."""


class SyncError(Exception):
    """Base class for errors the product raises on purpose."""


class ConfigurationError(SyncError):
    """A setting is missing or malformed; the message names the setting and what is allowed."""


class SyncPaused(SyncError):
    """A writing operation asked for while the sync is paused (IntegrationSettings `Paused`); says how to resume."""
