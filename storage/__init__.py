"""Where scored documents are kept: ClickHouse over the network, or chdb embedded in-process."""

from storage.base import Store
from storage.exceptions import StoreConfigError, StoreError, StoreUnavailable
from storage.factory import open_store

__all__ = ["Store", "StoreConfigError", "StoreError", "StoreUnavailable", "open_store"]
