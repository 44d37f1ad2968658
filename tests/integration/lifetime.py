"""The servers a test starts (rbldnsd, fault-injecting and identity DNS
servers, SMTP and HTTP receivers) are stopped when the test ends: each
adds itself to LIVE while it runs, atexit stops what is left, and SIGTERM
(a CTest timeout) becomes SystemExit so that finally blocks run too."""

import atexit
import signal

LIVE = set()


@atexit.register
def _stop_leftovers():
    for srv in list(LIVE):
        try:
            srv.stop()
        except Exception:
            pass


def _on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)
