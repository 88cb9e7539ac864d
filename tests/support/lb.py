"""A tiny HTTP load balancer for tests/rolling_update.rs.

Round-robin over the backends listed, one `address:port` per line, in the
file given as the second argument, read again on every request (so a
backend taken out of the file gets no new request). A backend that fails is
a 502: the test counts those. Listens on the first argument (`addr:port`).
"""

import itertools
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN, BACKENDS = sys.argv[1], sys.argv[2]
COUNTER = itertools.count()


class Proxy(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with open(BACKENDS, encoding="utf-8") as f:
                backends = [l.strip() for l in f if l.strip()]
        except OSError:
            backends = []
        if not backends:
            self.send_error(503, "no backend")
            return
        backend = backends[next(COUNTER) % len(backends)]
        try:
            with urllib.request.urlopen(f"http://{backend}{self.path}", timeout=5) as r:
                body = r.read()
        except Exception as e:  # any failure of the backend is the client's 502
            self.send_error(502, f"{backend}: {e}")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


host, port = LISTEN.rsplit(":", 1)
ThreadingHTTPServer((host, int(port)), Proxy).serve_forever()
