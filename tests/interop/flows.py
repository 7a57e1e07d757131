#!/usr/bin/env python3
"""Long-lived TCP flows through a VIP for the interop scenarios, run in the
client namespace. Pods answer with their name (tests/netns/pod_server.py).

  flows.py VIP:PORT [--conns 12] [--interval 0.1] [--max 170]
  flows.py VIP:PORT --short N

Opens --conns keep-alive HTTP connections and sends a request on each every
--interval seconds, recording which pod answers. A flow that sees an error
stops. Prints "ready: ..." once every connection has its first answer. Each
SIGUSR1 prints one verdict line about the time since the previous one:

  check N: ok: 12 flows on their first pod, all answering (pod1=4 pod2=5 ...)
  check N: FAIL: flow 3 (pod2): <error or pod change or no answer since>

and so a scenario checks that an update moved no established flow. Exits
on SIGTERM or after --max seconds.

With --short, N connections one after another instead, each a new source
port with one request, at most --timeout (2) seconds each, giving up after
5 failures in a row: one line per connection, the pod
that answered or "error: ...". Debian's python3 standard library only.
"""

import argparse
import collections
import signal
import socket
import sys
import threading
import time


class Flow:
    def __init__(self, index):
        self.index = index
        self.pods = []  # every answer's pod, in order
        self.error = None
        self.lock = threading.Lock()

    def snapshot(self):
        with self.lock:
            return len(self.pods), (self.pods[0] if self.pods else None), set(self.pods), self.error


def read_answer(sock, buffer):
    """Reads one HTTP response from sock; returns (body, leftover)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by peer")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by peer mid-body")
        rest += chunk
    return rest[:length].decode().strip(), rest[length:]


def run_flow(flow, host, port, interval, stop):
    try:
        sock = socket.create_connection((host, port), timeout=3)
        buffer = b""
        request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        while not stop.is_set():
            sock.sendall(request)
            body, buffer = read_answer(sock, buffer)
            with flow.lock:
                flow.pods.append(body)
            stop.wait(interval)
        sock.close()
    except (OSError, ValueError) as e:
        with flow.lock:
            flow.error = f"{type(e).__name__}: {e}"


def run_short(host, port, count, timeout, sport):
    failed = 0
    for i in range(count):
        if failed == 5:
            print("error: gave up after 5 failures in a row", flush=True)
            return
        # With --sport, connection i comes from port sport + i: with dnat the
        # pod sees the client's own port, and a port the kernel picked again
        # for another VIP could meet the pod's TIME_WAIT of an earlier
        # connection to the same pod.
        source = ("", sport + i) if sport else None
        try:
            with socket.create_connection((host, port), timeout=timeout,
                                          source_address=source) as sock:
                sock.settimeout(timeout)
                sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                print(read_answer(sock, b"")[0], flush=True)
                failed = 0
        except (OSError, ValueError) as e:
            print(f"error: {type(e).__name__}: {e}", flush=True)
            failed += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--conns", type=int, default=12)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--max", type=float, default=170.0)
    parser.add_argument("--short", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--sport", type=int, default=0,
                        help="--short: first source port, one more per connection")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    if args.short:
        run_short(host, int(port), args.short, args.timeout, args.sport)
        return
    stop = threading.Event()
    flows = [Flow(i) for i in range(args.conns)]
    threads = [threading.Thread(target=run_flow, args=(f, host, int(port), args.interval, stop), daemon=True)
               for f in flows]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(f.snapshot()[0] > 0 or f.snapshot()[3] for f in flows):
        time.sleep(0.05)
    first = collections.Counter(f.snapshot()[1] for f in flows)
    print("ready: " + " ".join(f"{pod}={n}" for pod, n in sorted(first.items(), key=str)), flush=True)

    checks = {"n": 0, "answers": [f.snapshot()[0] for f in flows]}
    pending = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: pending.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    end = time.monotonic() + args.max
    while not stop.is_set() and time.monotonic() < end:
        if not pending.wait(0.05):
            continue
        pending.clear()
        checks["n"] += 1
        problems = []
        now = []
        for f, before in zip(flows, checks["answers"]):
            answers, pod, pods, error = f.snapshot()
            now.append(answers)
            if error:
                problems.append(f"flow {f.index} ({pod}): {error}")
            elif len(pods) != 1:
                problems.append(f"flow {f.index} moved: {sorted(pods)}")
            elif answers <= before:
                problems.append(f"flow {f.index} ({pod}): no answer since the last check")
        checks["answers"] = now
        if problems:
            print(f"check {checks['n']}: FAIL: " + "; ".join(problems), flush=True)
        else:
            print(f"check {checks['n']}: ok: {len(flows)} flows on their first pod, all answering "
                  f"({' '.join(f'{p}={n}' for p, n in sorted(first.items(), key=str))}; "
                  f"{sum(now)} answers)", flush=True)
    stop.set()
    sys.exit(0)


if __name__ == "__main__":
    main()
