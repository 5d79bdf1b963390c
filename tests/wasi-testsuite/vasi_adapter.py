"""Runtime adapter that lets wasi-testsuite's test runner drive vasi.

Load it with the suite's runner, e.g.

    VASI=/path/to/vasi python3 run-tests --runtime-adapter /path/to/vasi.py

The runner imports this file as a module and calls the functions below.
It also executes the file once as a script (``python3 vasi.py --version``)
to tell module-style adapters from legacy ones; that run must print
nothing, so the module has no ``__main__`` behaviour.

Environment:
    VASI          command used to start vasi (default ``vasi`` from PATH); it
                  may carry extra options, split by shell rules, e.g.
                  ``VASI="/opt/vasi/bin/vasi"``.
    VASI_NAME     the runtime's name in the runner's report (default ``vasi``;
                  scripts/wasi-testsuite-web.sh names vasi-node and the shim).
    VASI_BACKEND  how the test's directory is mounted: ``dir`` (default, a
                  host directory), ``overlay`` (copy-on-write in memory over
                  the host directory, which stays unchanged) or ``mem`` (an
                  in-memory copy of it).
"""

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

# The third element of the runner's ``args_env_dirs``: a list of
# ``(host, guest)`` directory pairs (prod/testsuite-all), or one root
# directory or None (prod/testsuite-base).
DirsOrRoot = Union[List[Tuple[Path, str]], str, None]

VASI_CMD = shlex.split(os.environ.get("VASI", "vasi"), posix=os.name != "nt")


def get_name() -> str:
    return os.environ.get("VASI_NAME", "vasi")


def get_version() -> str:
    # `vasi --version` prints "vasi X.Y.Z".
    out = subprocess.run(VASI_CMD[:1] + ["--version"], check=True,
                         capture_output=True, encoding="utf-8").stdout
    words = out.split()
    return words[-1] if words else "unknown"


def get_wasi_versions() -> List[str]:
    # vasi implements preview1 (core modules exporting `_start`) only.
    return ["wasm32-wasip1"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


def get_timeout_seconds() -> float:
    # The runner's default is 5 s; leave room for a busy 2-core machine.
    return float(os.environ.get("VASI_TEST_TIMEOUT", "30"))


_OPEN_STDIN: Optional[str] = None


def _open_stdin() -> str:
    """A FIFO this (runner) process keeps open for writing and never writes:
    a stdin whose reads block, as a terminal's do.

    The wasi-threads tests state "assumption: read from FD 0 blocks" (a
    thread blocks in fd_read while another exits); the runner gives every
    test a pipe that it closes at once, so their read would see the end of
    input instead. Only those tests get this stdin.
    """
    global _OPEN_STDIN
    if _OPEN_STDIN is None:
        path = os.path.join(tempfile.mkdtemp(prefix="vasi-adapter-"), "stdin")
        os.mkfifo(path)
        # Held (O_RDWR does not wait for a reader) until the runner exits.
        os.open(path, os.O_RDWR | os.O_NONBLOCK)
        _OPEN_STDIN = path
    return _OPEN_STDIN


def compute_argv(test_path: str,
                 args_env_dirs: Tuple[List[str], Dict[str, str], DirsOrRoot],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    """Build the vasi command line for one test run.

    * every env var of the test becomes ``--env K=V``;
    * the test's directories are mounted: the ``prod/testsuite-all``
      runner passes a list of ``(host, guest)`` pairs, each mounted at its
      guest path; the ``prod/testsuite-base`` one passes one root directory
      (or None), preopened as the guest's ``/``, as the suite's reference
      adapters do (``--dir ROOT::/``);
    * guest arguments follow the module after ``--`` so that arguments
      starting with ``-`` are never taken as vasi options.

    wasi-threads tests (proposal ``threads``) need no flag: ``vasi run``
    recognises a threads module by its imports.
    """
    del proposals, wasi_world, wasi_version  # only preview1 CLI tests here
    args, env, dirs = args_env_dirs

    argv = list(VASI_CMD)
    if not any(a == "run" for a in argv[1:]):
        argv.append("run")
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    mount = {"dir": "--dir", "overlay": "--overlay", "mem": "--mem-copy"}[os.environ.get("VASI_BACKEND", "dir")]
    if isinstance(dirs, (str, os.PathLike)):
        argv += [mount, f"{dirs}::/"]
    elif dirs:
        for host, guest in dirs:
            argv += [mount, f"{host}::{guest}"]
    if "wasi-threads" in Path(test_path).parts and test_path.endswith("_wasi_read.wasm"):
        argv += ["--stdin", _open_stdin()]
    argv.append(test_path)
    if args:
        argv.append("--")
        argv += list(args)
    return argv
