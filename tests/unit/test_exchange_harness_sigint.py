"""Bots started by the harness stop on SIGINT even when it was started ignoring it."""

import signal
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import signal, subprocess, sys
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job starts
    from profitguard.tooling.exchange.harness import sigint_reaches_bots
    sigint_reaches_bots()
    child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout)
    """
)


def test_sigint_reaches_bots_when_started_ignoring_sigint_then_children_get_the_default():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "True"


def test_sigint_reaches_bots_when_sigint_handled_then_left_as_it_is():
    """A handler of the caller's own (not Python's default, which it would set) stays."""
    from profitguard.tooling.exchange.harness import sigint_reaches_bots

    def own(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, own)
    try:
        sigint_reaches_bots()
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, before)
