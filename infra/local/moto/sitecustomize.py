"""
Loaded by moto's Python at start-up (as `sitecustomize`, via PYTHONPATH) to patch the emulator:
- correctness_patches.py make moto behave like AWS where the WMS depends on it (atomic
  conditional writes, events' `account`, SQS queue policies' Deny). Always applied; a patch whose
  target in this moto is missing or changed stops the interpreter with the reason.
- memory_patches.py keep its memory to what its state needs (no list of every object it ever
  made, stream records packed, shard iterators expiring after 15 minutes as on AWS). Always
  applied, checked like the correctness patches.
- speed_patches.py make it cheaper per request with the same answers. They replace private
  internals of the moto pinned in requirements.txt and apply to that version only.
  SPD_WMS_MOTO_SPEED_PATCHES: unset or `1` applies all, `0` none, a comma-separated list of
  names only those. On another moto they are off and this says so; asking for them there is
  refused.
- With SPD_WMS_MOTO_PROFILE=<file>, request handling runs under cProfile (thread CPU time) and
  the merged stats are written to <file> (pstats format) every 10 s, to find where moto's CPU
  goes.
The marker line (`spd-wms: moto patched`, with the version and the patches applied) proves it
is active; emulator.ts waits for it.
"""
import cProfile
import os
import pstats
import queue
import re
import sys
import threading
import time

_PIN_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements.txt")
_SPEED_SETTING = "SPD_WMS_MOTO_SPEED_PATCHES"


# The exit status of a moto this patch refuses to start.
REFUSED_STATUS = 3


def _refuse(reason):
    # Python's site module reports an exception here and carries on without the patch; an exit
    # is the only way to stop moto from starting unpatched.
    sys.stderr.write(f"spd-wms: moto not started: {reason}\n")
    sys.stderr.flush()
    os._exit(REFUSED_STATUS)


def _pinned_version():
    with open(_PIN_FILE, encoding="utf-8") as pins:
        for line in pins:
            found = re.fullmatch(r"moto\[server\]==(\S+)", line.strip())
            if found:
                return found.group(1)
    _refuse(f"{_PIN_FILE} pins no moto[server]==<version>")


def _speed_setting(version, pinned):
    """`all`, `none` or the names of the speed patches asked for; `none` on another moto."""
    setting = os.environ.get(_SPEED_SETTING, "").strip()
    if version != pinned:
        if setting not in ("", "0"):
            _refuse(
                f"moto {version} is not the pinned {pinned}, and the speed patches ({_SPEED_SETTING}={setting})"
                f" replace {pinned}'s private internals; install moto[server]=={pinned}"
                f" (npm run setup:moto) or set {_SPEED_SETTING}=0"
            )
        sys.stderr.write(
            f"spd-wms: warning: moto {version} is not the pinned {pinned}: speed patches off"
            " (correctness patches checked and applied); the emulator is slower\n"
        )
        return "none"
    if setting in ("", "1"):
        return "all"
    if setting == "0":
        return "none"
    return [name.strip() for name in setting.split(",") if name.strip()]


_PROFILE_FILE = os.environ.get("SPD_WMS_MOTO_PROFILE")
_PROFILE_INTERVAL_S = 10
# The request handling the profiler wraps, set when profiling starts.
_dispatch = None
# Idle profilers: cProfile profiles only the thread that enabled it, and the server runs each
# request on a thread of its own, so a request borrows one (one per concurrent request).
_profilers: "queue.SimpleQueue[cProfile.Profile]" = queue.SimpleQueue()


def _profiled_dispatch(self, environ, start_response):
    try:
        profiler = _profilers.get_nowait()
    except queue.Empty:
        # CPU time of the thread: waiting for a lock, the GIL or a long poll costs nothing.
        profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        return _dispatch(self, environ, start_response)
    finally:
        profiler.disable()
        _profilers.put(profiler)


def _dump_profiles():
    # moto is stopped by a signal, so the stats are written periodically rather than at exit;
    # profilers busy with a request at dump time are counted in the next dump.
    while True:
        time.sleep(_PROFILE_INTERVAL_S)
        idle = []
        while True:
            try:
                idle.append(_profilers.get_nowait())
            except queue.Empty:
                break
        try:
            if idle:
                stats = pstats.Stats(idle[0])
                for profiler in idle[1:]:
                    stats.add(profiler)
                stats.dump_stats(_PROFILE_FILE + ".tmp")
                os.replace(_PROFILE_FILE + ".tmp", _PROFILE_FILE)
        finally:
            for profiler in idle:
                _profilers.put(profiler)


def _main():
    try:
        import moto
    except Exception as error:
        _refuse(f"moto cannot be imported: {error!r}")

    version = moto.__version__
    pinned = _pinned_version()
    setting = _speed_setting(version, pinned)
    try:
        import correctness_patches

        correctness = correctness_patches.apply()
    except Exception as error:  # an import or a target check: either way this moto differs
        _refuse(f"the correctness patches do not apply to moto {version}: {error}")
    try:
        import memory_patches

        memory = memory_patches.apply()
    except Exception as error:
        _refuse(f"the memory patches do not apply to moto {version}: {error}")
    speed = []
    if setting != "none":
        import speed_patches

        known = list(speed_patches.SPEED_PATCHES)
        speed = known if setting == "all" else setting
        unknown = [name for name in speed if name not in known]
        if unknown:
            _refuse(f"{_SPEED_SETTING} names no speed patch {', '.join(unknown)} (known: {', '.join(known)})")
        speed_patches.apply(speed)
    if _PROFILE_FILE:
        global _dispatch
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        _dispatch = DomainDispatcherApplication.__call__
        DomainDispatcherApplication.__call__ = _profiled_dispatch
        threading.Thread(target=_dump_profiles, name="spd-wms-profile", daemon=True).start()
    sys.stderr.write(
        f"spd-wms: moto patched: moto {version}; correctness: {', '.join(correctness)};"
        f" memory: {', '.join(memory)}; speed: {', '.join(speed) or 'none'}\n"
    )


_main()
