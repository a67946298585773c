"""The former home of the case settings, now :class:`gridgov.settings.Settings`.

``CaseSettings`` remains an alias of :class:`~gridgov.settings.Settings`, which also holds the
working calendar and the care policy.
"""

from gridgov.settings import Settings as CaseSettings

__all__ = ["CaseSettings"]
