"""Device drivers and their simulated twins.

Each device has a small :class:`typing.Protocol` in :mod:`drivers.base`; the
real implementation and its simulated twin both satisfy it. Which one runs is
decided by configuration only (``hardware.mode``), never by a silent fallback.
"""
