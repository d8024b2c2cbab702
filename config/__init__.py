"""finsent's configuration, read from ``FINSENT_*`` environment variables; imports nothing of finsent's."""

from config.settings import DEV_AUTHOR_KEY, Settings

__all__ = ["DEV_AUTHOR_KEY", "Settings"]
