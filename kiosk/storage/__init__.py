"""Storage: one SQLite database with migrations; all SQL lives in this package."""

from kiosk.storage.database import Database
from kiosk.storage.repository import Booking, Entry

__all__ = ["Booking", "Database", "Entry"]
