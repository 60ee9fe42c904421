"""A WebSub subscriber's callback for tests/docker/run.sh.

usage: subscriber.py PORT LOG

Answers a verification GET with its hub.challenge and a delivery POST with
204, and appends one line per request to LOG: `verified <mode> <topic>` or
`delivered <bytes> <content-type>`.
"""
import http.server
import sys
import urllib.parse

PORT, LOG = int(sys.argv[1]), sys.argv[2]


def note(line):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        challenge = query.get("hub.challenge", [""])[0].encode()
        note(f"verified {query.get('hub.mode', ['?'])[0]} {query.get('hub.topic', ['?'])[0]}")
        self.send_response(200)
        self.send_header("Content-Length", str(len(challenge)))
        self.end_headers()
        self.wfile.write(challenge)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        note(f"delivered {len(body)} {self.headers.get('Content-Type')}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Callback).serve_forever()
