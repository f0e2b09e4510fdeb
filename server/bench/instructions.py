#!/usr/bin/env python3
"""Where a request's instructions go: the release server under callgrind.

    server/bench/instructions.py BIN ARTIFACT OUT.md

Throughput on a shared two-core machine moves from run to run; an
instruction count does not. callgrind counts every instruction the server
runs for a stream of requests to /livez and to /v1/predict (after a warm-up,
one worker, JSON logs at info as deployed), and this script splits each
request's count by the functions that do the visible steps: reading the
body, checking, scoring, writing the answer, the span and the log line.
Whatever is not listed (HTTP parsing, routing, metrics, the async runtime)
is the rest. Inclusive counts of functions that do not call each other, so
the parts add up.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

REQUESTS = 2000
WARM_UP = 200
PORT = int(os.environ.get("BENCH_CALLGRIND_PORT", "18556"))
URL = f"http://127.0.0.1:{PORT}"

# The same patient as the load test's.
PATIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "patient.json")
SCORING = [r"heartlab_server::state::Model::score"]

# (what the reader sees, symbols whose inclusive counts make it up).
# A symbol is matched in full, so a recursive entry (name'2) is not counted
# twice.
PARTS = [
    ("reading the JSON body into the input slots",
     [r"<heartlab_server::sent::SentPatient as heartlab_server::sent::FromJson>::from_json"]),
    ("checking the patient against the input schema",
     [r"heartlab_server::input::Schema::check_patient"]),
    ("scoring: the preprocessing and the model", SCORING),
    ("writing the JSON answer",
     [r"actix_web::response::builder::HttpResponseBuilder::json",
      r"heartlab_server::answer::Answers::single",
      r"heartlab_server::routes::json_bytes"]),
    ("the request's log line",
     [r"tracing_core::event::Event::dispatch"]),
    ("opening and closing the request's span",
     [r"tracing::span::Span::new", r"core::ptr::drop_in_place<tracing::span::Span>"]),
    ("zeroing the HTTP parser's header table (counted per byte, see below)",
     [r"__memset_\w+"]),
]

LINE = re.compile(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(?:\S+?):(.+?) \[[^\]]*\]\s*$")


def fail(message):
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


def get(path):
    try:
        with urllib.request.urlopen(URL + path, timeout=2) as answer:
            return answer.status
    except OSError:
        return None


def hey(route, count):
    if route == "livez":
        args = [f"{URL}/livez"]
    else:
        args = ["-m", "POST", "-T", "application/json", "-D", PATIENT, f"{URL}/v1/predict"]
    out = subprocess.run(["hey", "-n", str(count), "-c", "4", *args],
                         capture_output=True, text=True, check=True).stdout
    ok = re.search(r"\[200\]\s+(\d+) responses", out)
    if not ok or int(ok.group(1)) != count:
        fail(f"/{route}: not every request answered 200 under callgrind:\n{out}")


def profile(binary, artifact, route, work):
    """Inclusive instruction counts per symbol, summed over `REQUESTS` requests."""
    env = dict(os.environ,
               HEARTLAB_SERVER_HOST="127.0.0.1", HEARTLAB_SERVER_PORT=str(PORT),
               HEARTLAB_SERVER_ARTIFACT=artifact, HEARTLAB_SERVER_WORKERS="1",
               HEARTLAB_SERVER_DRAIN_SECONDS="0", HEARTLAB_SERVER_LOG_FORMAT="json",
               RUST_LOG="info")
    out_file = os.path.join(work, f"{route}.%p.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", binary],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while get("/readyz") != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                fail(f"the server under callgrind did not become ready (/{route})")
            time.sleep(0.2)

        hey(route, WARM_UP)
        subprocess.run(["callgrind_control", "-z", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        hey(route, REQUESTS)
        subprocess.run(["callgrind_control", "-d", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)

    dump = os.path.join(work, f"{route}.{server.pid}.out.1")
    if not os.path.exists(dump):
        fail(f"callgrind left no dump at {dump}")
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                          capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in text.splitlines():
        if "PROGRAM TOTALS" in line:
            counts["total"] = int(line.split()[0].replace(",", ""))
            continue
        match = LINE.match(line)
        if match:
            counts[match.group(2)] = counts.get(match.group(2), 0) + int(
                match.group(1).replace(",", ""))
    if "total" not in counts:
        fail(f"no total in callgrind's report for /{route}")
    return counts


def part(counts, patterns):
    """Instructions per request of the symbols matching `patterns`, or None."""
    found = [n for name, n in counts.items()
             if any(re.fullmatch(p, name) for p in patterns)]
    return sum(found) / REQUESTS if found else None


def main():
    if len(sys.argv) != 4:
        fail("usage: instructions.py BIN ARTIFACT OUT.md")
    binary, artifact, out = sys.argv[1:]
    for tool in ["valgrind", "callgrind_control", "callgrind_annotate", "hey"]:
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed (apt-get install -y valgrind hey)")

    with tempfile.TemporaryDirectory() as work:
        print("bench: /livez and /v1/predict under callgrind")
        routes = {route: profile(binary, artifact, route, work)
                  for route in ["livez", "predict"]}

    totals = {route: counts["total"] / REQUESTS for route, counts in routes.items()}
    rows = []
    listed = {route: 0.0 for route in routes}
    for label, patterns in PARTS:
        cells = []
        for route, counts in routes.items():
            n = part(counts, patterns)
            listed[route] += n or 0
            cells.append(n)
        rows.append((label, cells))
    rows.append(("everything else: HTTP, routing, metrics, the async runtime",
                 [totals[r] - listed[r] for r in routes]))

    def cell(n, route):
        if n is None or n < 50:
            return "–"
        return f"{n:,.0f} ({100 * n / totals[route]:.0f}%)"

    score = part(routes["predict"], SCORING) or 0
    lines = [
        f"| per request ({REQUESTS:,} requests, one worker) | /livez | /v1/predict |",
        "|---|---:|---:|",
        f"| **the whole request, instructions** | **{totals['livez']:,.0f}** "
        f"| **{totals['predict']:,.0f}** |",
    ]
    lines += [f"| {label} | {cell(a, 'livez')} | {cell(b, 'predict')} |"
              for label, (a, b) in rows]
    lines += [
        "",
        f"A prediction runs {totals['predict'] / totals['livez']:.1f} times the instructions "
        f"of a liveness check; scoring the patient is {100 * score / totals['predict']:.1f}% "
        "of them.",
    ]
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"bench: wrote {out}")


if __name__ == "__main__":
    main()
