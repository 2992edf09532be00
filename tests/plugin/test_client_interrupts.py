"""Ctrl-C while the client sets a gRPC call up arrives once the call exists.

An interrupt in the middle of the set-up left the call half made, and closing
the channel then waited for it forever: `foley` hung on Ctrl-C about one time
in five when the signal came just as a clip's job started.
"""

from __future__ import annotations

import signal

import pytest

from foley_plugin.client import _interrupts_held


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_during_set_up_is_delivered_after_it(number: int) -> None:
    # Both signals raise KeyboardInterrupt here, as the plugin's CLI sets them up; set explicitly,
    # because a process started in the background inherits SIGINT ignored.
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with _interrupts_held():
                signal.raise_signal(number)
                steps.append("call set up")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is signal.default_int_handler
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert steps == ["call set up"]
