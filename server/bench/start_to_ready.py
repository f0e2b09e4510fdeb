"""Times the server from process start to its first 200 on /readyz.

Usage: start_to_ready.py BIN ARTIFACT PORT RUNS. Prints "median ms (max M ms)".
Polls every half millisecond over loopback, so the figure includes the
exec, the artifact load and check, the warm-up and the bind.
"""

import http.client
import os
import signal
import statistics
import subprocess
import sys
import time


def ready(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        conn.request("GET", "/readyz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def once(binary, artifact, port):
    env = dict(os.environ)
    env.update(
        HEARTLAB_SERVER_HOST="127.0.0.1",
        HEARTLAB_SERVER_PORT=str(port),
        HEARTLAB_SERVER_ARTIFACT=artifact,
        HEARTLAB_SERVER_DRAIN_SECONDS="0",
    )
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 10
        while not ready(port):
            if time.perf_counter() > deadline or proc.poll() is not None:
                raise SystemExit("the server did not become ready")
            time.sleep(0.0005)
        return (time.perf_counter() - started) * 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main():
    binary, artifact, port, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    times = [once(binary, artifact, port) for _ in range(runs)]
    print(f"{statistics.median(times):.1f} ms (max {max(times):.1f} ms)")


if __name__ == "__main__":
    main()
