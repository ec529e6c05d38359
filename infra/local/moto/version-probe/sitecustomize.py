"""
Put on a moto server's PYTHONPATH by scripts/ensure-moto.sh to learn which moto it runs: its
Python loads this at start-up, before the server, which prints `moto <version>` (nothing when
this Python has no moto) and exits, so no server starts.
"""
import os
import sys

try:
    import moto

    sys.stdout.write(f"moto {moto.__version__}\n")
except ImportError:
    pass
finally:
    sys.stdout.flush()
    os._exit(0)
