"""
A command run in a pseudo-terminal, interrupted as a person at a terminal
interrupts it: the command starts in a new session whose controlling terminal
is the pty, and once its output shows the ready pattern the terminal's
interrupt character (Ctrl-C, 0x03) is written to the master side. The line
discipline then signals SIGINT to the whole foreground process group (npm and
the process it runs alike), as a real terminal does.

    python3 terminal.py READY_REGEX START_TIMEOUT_S STOP_TIMEOUT_S -- COMMAND [ARG...]

Prints one JSON object: {"ready", "exitCode", "signal", "timedOut", "output"}.
The command runs with this process's environment and working directory.
"""
import json
import os
import pty
import re
import select
import signal
import sys
import time


def main() -> None:
    separator = sys.argv.index("--")
    ready_pattern, start_timeout, stop_timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    command = sys.argv[separator + 1 :]

    pid, master = pty.fork()
    if pid == 0:
        # In the child: a session leader with the pty as its controlling terminal.
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)

    output = bytearray()
    ready = False
    timed_out = False

    def read_for(seconds: float, until=None) -> bool:
        """Reads the terminal until `until(output)` holds, the command closes it, or `seconds` pass; True when `until` held."""
        deadline = time.monotonic() + seconds
        while True:
            if until is not None and until(output):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([master], [], [], min(left, 0.5))
            if not readable:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                # EIO: every process holding the terminal has closed it.
                return until is not None and until(output)
            if not chunk:
                return until is not None and until(output)
            output.extend(chunk)

    ready = read_for(start_timeout, lambda text: re.search(ready_pattern.encode(), text) is not None)
    if ready:
        os.write(master, b"\x03")
    else:
        # Not ready in time: stop it as a terminal closing would.
        os.killpg(pid, signal.SIGHUP)

    deadline = time.monotonic() + stop_timeout
    status = None
    while status is None:
        read_for(0.2)
        finished, waited = os.waitpid(pid, os.WNOHANG)
        if finished:
            status = waited
        elif time.monotonic() > deadline:
            timed_out = True
            os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    # What the processes still wrote before closing the terminal.
    read_for(1.0)
    os.close(master)

    print(
        json.dumps(
            {
                "ready": ready,
                "exitCode": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "timedOut": timed_out,
                "output": output.decode("utf-8", "replace"),
            }
        )
    )


if __name__ == "__main__":
    main()
