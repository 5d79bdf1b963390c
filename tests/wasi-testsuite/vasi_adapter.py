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
from typing import Dict, List, Optional, Tuple

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


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    """Build the vasi command line for one test run.

    * every env var of the test becomes ``--env K=V``;
    * the test's root directory (if any) is preopened as the guest's
      ``/``, as the suite's reference adapters do (``--dir ROOT::/``);
    * guest arguments follow the module after ``--`` so that arguments
      starting with ``-`` are never taken as vasi options.
    """
    del proposals, wasi_world, wasi_version  # only preview1 CLI tests here
    args, env, root = args_env_root

    argv = list(VASI_CMD)
    if not any(a == "run" for a in argv[1:]):
        argv.append("run")
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    if root:
        mount = {"dir": "--dir", "overlay": "--overlay", "mem": "--mem-copy"}[os.environ.get("VASI_BACKEND", "dir")]
        argv += [mount, f"{root}::/"]
    argv.append(test_path)
    if args:
        argv.append("--")
        argv += list(args)
    return argv
