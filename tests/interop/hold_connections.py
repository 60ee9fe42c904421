"""Opens N keep-alive connections to HOST:PORT, makes one request on each,
and holds them all open until stdin closes.

usage: hold_connections.py HOST PORT N
Prints "held K" once K connections have had their answer (K < N if some
could not connect), then waits; exits 0 when stdin closes.
"""
import resource
import selectors
import socket
import sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 64
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
sel = selectors.DefaultSelector()
socks, failed = [], 0
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex((host, port))
    except OSError:
        failed += 1
        s.close()
        continue
    sel.register(s, selectors.EVENT_WRITE)
    socks.append(s)

answered, pending = 0, len(socks)
while pending:
    events = sel.select(timeout=20)
    if not events:
        break
    for key, mask in events:
        s = key.fileobj
        if mask & selectors.EVENT_WRITE:
            try:
                s.send(request)
                sel.modify(s, selectors.EVENT_READ)
            except OSError:
                sel.unregister(s)
                pending -= 1
        else:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            sel.unregister(s)
            pending -= 1
            if data.startswith(b"HTTP/1.1 200"):
                answered += 1
print(f"held {answered}", flush=True)
sys.stdin.read()
