# Read by `jupyter nbconvert` in the pipeline's notebook jobs (the Snakefile puts this folder on
# JUPYTER_CONFIG_PATH). The kernel talks to nbconvert over Unix sockets in a directory of its own
# instead of TCP ports on localhost: no port race between two notebook jobs starting at once, and
# no "Kernel is running over TCP without encryption" warning per notebook on the console.
# The socket path must be absolute: nbconvert and the kernel run in different directories.
import atexit
import os
import shutil
import tempfile

_sockets = tempfile.mkdtemp(prefix="sail-kernel-")
atexit.register(shutil.rmtree, _sockets, True)
c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
c.KernelManager.transport = "ipc"
c.KernelManager.ip = os.path.join(_sockets, "kernel")
