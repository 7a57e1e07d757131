#!/usr/bin/env python3
"""A pod for the netns tests and the demo: answers with its name.

  pod_server.py NAME [--http-port 8080] [--udp-port 5353]

HTTP/1.1 on every address of the namespace, IPv4 and IPv6 (one dual-stack
socket): each request, on a new or a kept-alive connection, gets NAME and a
newline as its body. UDP: each datagram is answered with NAME and a newline.
Prints one line once both sockets listen, then serves until killed.
Debian's python3 standard library only.
"""

import argparse
import http.server
import socket
import sys
import threading


class DualStackHttpServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    # The default of 5 drops SYNs when a test opens dozens of connections at once.
    request_queue_size = 128

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def make_handler(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        # Keep-alive: the long-lived connection test sends many requests on one.
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    return Handler


def serve_udp(sock, body):
    while True:
        _, peer = sock.recvfrom(2048)
        sock.sendto(body, peer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--udp-port", type=int, default=5353)
    args = parser.parse_args()
    body = (args.name + "\n").encode()

    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.bind(("::", args.udp_port))
    http_server = DualStackHttpServer(("::", args.http_port), make_handler(body))

    threading.Thread(target=serve_udp, args=(udp, body), daemon=True).start()
    print(f"{args.name}: serving http on [::]:{args.http_port}, udp on [::]:{args.udp_port}",
          flush=True)
    try:
        http_server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
