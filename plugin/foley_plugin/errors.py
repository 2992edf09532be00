"""Errors the plugin raises on purpose; the CLI prints their message and exits non-zero."""

from __future__ import annotations


class PluginError(Exception):
    """Base class of every error this package raises on purpose.

    The message is meant for the editor: it names the file or item concerned
    and says what to do about it.
    """


class TimelineError(PluginError):
    """A timeline file cannot be read or written."""


class SelectionError(PluginError):
    """A track or clip the user asked for is not in the timeline."""


class OutputError(PluginError):
    """A result file (WAV, timeline, record of a finished clip) cannot be written."""
