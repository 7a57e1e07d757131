#!/usr/bin/env python3
"""Clients for lb_test.sh, run in the client namespace. Pods answer with their
name (pod_server.py).

  lb_client.py udp VIP PORT COUNT
      COUNT queries, each from its own source port (all held open until the
      end, so all distinct); prints one line per query: "<sport> <pod>" or
      "<sport> timeout". Gives up after 5 timeouts in a row.

  lb_client.py hold --tcp VIP:PORT --udp VIP:PORT --removed POD [options]
      Long-lived flows across a reload that removes POD: --conns keep-alive
      HTTP connections and --flows UDP flows (fixed source ports from
      --udp-base-port), each sending a request every --interval seconds and
      recording which pod answers. Prints "ready ..." once every flow has had
      its first answer. SIGUSR1 marks the moment just before the reload is
      requested; the flows run --after seconds more (the reload must take
      effect well within that), then every flow is checked:
        TCP on a surviving pod: the same pod throughout, no error, answers
            after the mark;
        TCP on POD: an error (reset) after the mark, none before;
        UDP on a surviving pod: the same pod throughout, no timeout;
        UDP on POD: its last answers from one surviving pod, at most one
            timeout (a reply in flight at the reload is dropped).
      Prints one line per flow and "ok: ..." / "FAIL: ..." lines; exits 1 on
      any failure. Gives up --max seconds after start if no mark comes.
Debian's python3 standard library only.
"""

import argparse
import collections
import signal
import socket
import sys
import threading
import time


def split_host_port(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def run_udp(args):
    sockets = []
    timeouts_in_a_row = 0
    try:
        for _ in range(args.count):
            if timeouts_in_a_row == 5:
                break
            s = socket.socket(family_of(args.vip), socket.SOCK_DGRAM)
            s.settimeout(args.timeout)
            s.bind(("", 0))
            sockets.append(s)
            sport = s.getsockname()[1]
            s.sendto(b"which pod?", (args.vip, args.port))
            try:
                reply = s.recv(2048).decode().strip()
                timeouts_in_a_row = 0
            except socket.timeout:
                reply = "timeout"
                timeouts_in_a_row += 1
            print(f"{sport} {reply}", flush=True)
    finally:
        for s in sockets:
            s.close()
    return 0


class Flow:
    """What one long-lived flow saw, split at the mark."""

    def __init__(self, kind, index):
        self.kind = kind
        self.index = index
        self.port = 0
        self.first = None
        self.answers = [collections.Counter(), collections.Counter()]  # before, after
        self.timeouts = [0, 0]
        self.error = None
        self.error_after_mark = False
        self.last = None

    def record(self, pod, after):
        if self.first is None:
            self.first = pod
        self.last = pod
        self.answers[after][pod] += 1

    def pods(self):
        total = self.answers[0] + self.answers[1]
        return ",".join(f"{p}:{n}" for p, n in sorted(total.items())) or "-"

    def describe(self):
        before = sum(self.answers[0].values())
        after = sum(self.answers[1].values())
        text = (f"{self.kind} {self.index} port={self.port} first={self.first} last={self.last} "
                f"answers={before}+{after} pods={self.pods()}")
        if self.kind == "udp":
            text += f" timeouts={self.timeouts[0]}+{self.timeouts[1]}"
        else:
            when = "after" if self.error_after_mark else "before"
            text += f" error={self.error} ({when} mark)" if self.error else " error=none"
        return text


class Hold:
    def __init__(self, args):
        self.args = args
        self.mark = threading.Event()
        self.stop = threading.Event()
        self.tcp = [Flow("tcp", i) for i in range(args.conns)]
        self.udp = [Flow("udp", i) for i in range(args.flows)]

    def after_mark(self):
        return 1 if self.mark.is_set() else 0

    def tcp_flow(self, flow):
        host, port = split_host_port(self.args.tcp)
        request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        try:
            sock = socket.create_connection((host, port), timeout=self.args.timeout)
            flow.port = sock.getsockname()[1]
            reader = sock.makefile("rb")
            while not self.stop.is_set():
                sock.sendall(request)
                status = reader.readline()
                if not status:
                    raise ConnectionError("closed by the peer")
                length = 0
                while True:
                    line = reader.readline()
                    if not line:
                        raise ConnectionError("closed by the peer in the headers")
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = reader.read(length)
                if len(body) != length or not status.startswith(b"HTTP/1.1 200"):
                    raise ConnectionError(f"bad response {status!r} {body!r}")
                flow.record(body.decode().strip(), self.after_mark())
                self.stop.wait(self.args.interval)
            sock.close()
        except (OSError, ValueError) as e:
            flow.error_after_mark = self.mark.is_set()
            flow.error = type(e).__name__ + (f": {e}" if str(e) else "")

    def udp_flow(self, flow):
        host, port = split_host_port(self.args.udp)
        flow.port = self.args.udp_base_port + flow.index
        with socket.socket(family_of(host), socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("", flow.port))
            sock.settimeout(self.args.timeout)
            while not self.stop.is_set():
                after = self.after_mark()
                sock.sendto(b"which pod?", (host, port))
                try:
                    flow.record(sock.recv(2048).decode().strip(), after)
                except socket.timeout:
                    flow.timeouts[after] += 1
                self.stop.wait(self.args.interval)

    def run(self):
        signal.signal(signal.SIGUSR1, lambda *_: self.mark.set())
        threads = [threading.Thread(target=self.tcp_flow, args=(f,), daemon=True)
                   for f in self.tcp]
        threads += [threading.Thread(target=self.udp_flow, args=(f,), daemon=True)
                    for f in self.udp]
        for t in threads:
            t.start()
        deadline = time.monotonic() + self.args.max
        flows = self.tcp + self.udp
        while time.monotonic() < deadline:
            if all(f.first is not None or f.error for f in flows):
                break
            time.sleep(0.05)
        shares = collections.Counter(f.first for f in flows)
        print("ready " + " ".join(f"{p}={n}" for p, n in sorted(shares.items(), key=str)),
              flush=True)
        # The mark arrives as a signal; waiting on the event wakes up for it.
        self.mark.wait(max(0.0, deadline - time.monotonic()))
        if self.mark.is_set():
            time.sleep(self.args.after)
        self.stop.set()
        for t in threads:
            t.join(self.args.timeout + 1)
        return self.verdict()

    def verdict(self):
        removed = self.args.removed
        failures = []

        def check(ok, flow, what):
            if not ok:
                failures.append(f"{flow.kind} {flow.index} (port {flow.port}): {what}")

        if not self.mark.is_set():
            failures.append(f"no reload mark (SIGUSR1) within {self.args.max} s")
        for f in self.tcp + self.udp:
            print(f.describe())
        for f in self.tcp:
            if f.first is None:
                check(False, f, f"never answered: {f.error}")
            elif f.first != removed:
                check(f.error is None, f, f"error on a surviving pod: {f.error}")
                check(set((f.answers[0] + f.answers[1]).keys()) == {f.first}, f,
                      f"moved between pods: {f.pods()}")
                check(sum(f.answers[1].values()) > 0, f, "no answer after the reload")
            else:
                check(f.error is not None and f.error_after_mark, f,
                      f"on the removed {removed} but not reset after the reload: "
                      f"error={f.error}, after mark={f.error_after_mark}")
        for f in self.udp:
            if f.first is None:
                check(False, f, "never answered")
            elif f.first != removed:
                check(f.timeouts == [0, 0], f, f"timeouts on a surviving pod: {f.timeouts}")
                check(set((f.answers[0] + f.answers[1]).keys()) == {f.first}, f,
                      f"moved between pods: {f.pods()}")
                check(sum(f.answers[1].values()) > 0, f, "no answer after the reload")
            else:
                check(f.timeouts[0] == 0 and f.timeouts[1] <= 1, f,
                      f"timeouts before+after the mark: {f.timeouts}")
                moved_to = set(f.answers[1].keys()) - {removed}
                check(f.last != removed and len(moved_to) == 1, f,
                      f"not moved to one surviving pod after the reload: {dict(f.answers[1])}")

        on_removed = [f for f in self.tcp + self.udp if f.first == removed]
        others = [f for f in self.tcp + self.udp if f.first not in (None, removed)]
        tcp_removed = sum(1 for f in self.tcp if f.first == removed)
        udp_removed = sum(1 for f in self.udp if f.first == removed)
        if tcp_removed == 0 or udp_removed == 0:
            failures.append(f"no flow started on {removed} (tcp {tcp_removed}, udp "
                            f"{udp_removed}): the removal was not exercised")
        for line in failures:
            print("FAIL: " + line)
        if not failures:
            print(f"ok: {len(others)} flows on surviving pods kept their pod without errors; "
                  f"{tcp_removed} TCP connections on {removed} were reset, {udp_removed} UDP "
                  f"flows on it moved to a surviving pod")
        print(f"hold: {len(on_removed)} of {len(on_removed) + len(others)} flows started on "
              f"{removed}")
        return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    udp = sub.add_parser("udp")
    udp.add_argument("vip")
    udp.add_argument("port", type=int)
    udp.add_argument("count", type=int)
    udp.add_argument("--timeout", type=float, default=2.0)
    hold = sub.add_parser("hold")
    hold.add_argument("--tcp", required=True)
    hold.add_argument("--udp", required=True)
    hold.add_argument("--removed", required=True)
    hold.add_argument("--conns", type=int, default=30)
    hold.add_argument("--flows", type=int, default=30)
    hold.add_argument("--udp-base-port", type=int, default=42000)
    hold.add_argument("--interval", type=float, default=0.1)
    hold.add_argument("--timeout", type=float, default=2.0)
    hold.add_argument("--after", type=float, default=3.0)
    hold.add_argument("--max", type=float, default=60.0)
    args = parser.parse_args()
    if args.command == "udp":
        return run_udp(args)
    return Hold(args).run()


if __name__ == "__main__":
    sys.exit(main())
