"""finsent's configuration, read from ``FINSENT_*`` environment variables; imports nothing of finsent's."""

from config.components import (
    AlertSettings,
    ApiSettings,
    BatchSettings,
    GrafanaSettings,
    KafkaSettings,
    ModelSettings,
    RouteSettings,
    TopicNames,
)
from config.settings import DEV_AUTHOR_KEY, Settings

__all__ = [
    "DEV_AUTHOR_KEY",
    "AlertSettings",
    "ApiSettings",
    "BatchSettings",
    "GrafanaSettings",
    "KafkaSettings",
    "ModelSettings",
    "RouteSettings",
    "Settings",
    "TopicNames",
]
