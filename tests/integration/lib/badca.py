#!/usr/bin/env python3
"""badca.py - a loopback "ACME CA" that answers garbage, for certdesk's error
paths: truncated or malformed JSON, wrong content types, 429/503 with
Retry-After in both forms and junk values, bad nonces, oversized bodies.

usage: badca.py CERT KEY PORTFILE
Listens on 127.0.0.1 (a free port, written to PORTFILE) with TLS. The first
path segment picks the scenario: https://127.0.0.1:PORT/<scenario>/dir.
Every request is logged to stdout as "<epoch> <method> <path>".
"""
import email.utils
import http.server
import json
import ssl
import sys
import threading
import time

counts = {}
lock = threading.Lock()


def hit(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json", headers=None, nonce="bm9uY2U"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if nonce is not None:
            self.send_header("Replay-Nonce", nonce)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def problem(self, code, typ, detail, headers=None):
        self.send(code, json.dumps({"type": "urn:ietf:params:acme:error:" + typ,
                                    "detail": detail, "status": code}),
                  "application/problem+json", headers)

    def directory(self, sc):
        base = "https://127.0.0.1:%d/%s" % (self.server.server_port, sc)
        return json.dumps({"newNonce": base + "/nonce", "newAccount": base + "/acct",
                           "newOrder": base + "/order", "revokeCert": base + "/revoke"})

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        parts = self.path.strip("/").split("/")
        sc, what = parts[0], "/".join(parts[1:])
        print("%.3f %s %s" % (time.time(), self.command, self.path), flush=True)
        k = hit(sc + " " + what)
        base = "https://127.0.0.1:%d/%s" % (self.server.server_port, sc)
        if what == "dir":
            if sc == "truncated":
                return self.send(200, self.directory(sc)[:40])
            if sc == "html":
                return self.send(200, "<html><body>Welcome to nginx!</body></html>", "text/html")
            if sc == "notobject":
                return self.send(200, "[1, 2, 3]")
            if sc == "huge":
                return self.send(200, "{\"x\": \"" + "a" * (2 * 1024 * 1024) + "\"}")
            if sc == "dir503delta" and k == 1:
                return self.send(503, "busy", "text/plain", {"Retry-After": "2"})
            if sc == "junkra":
                return self.send(503, "busy", "text/plain", {"Retry-After": "soon-ish"})
            return self.send(200, self.directory(sc))
        if what == "nonce":
            if sc == "badnonce":
                return self.send(200, "", nonce="not a nonce!")
            return self.send(200, "")
        if what == "acct":
            if sc == "acct429date" and k == 1:
                when = email.utils.formatdate(time.time() + 2, usegmt=True)
                return self.problem(429, "rateLimited", "too many accounts", {"Retry-After": when})
            if sc == "acct429long":
                return self.problem(429, "rateLimited", "come back in an hour",
                                    {"Retry-After": "3600"})
            if sc == "acctjunk":
                return self.send(400, "{\"type\": \"urn:ietf:params:acme:error:malf", "application/problem+json")
            if sc == "acctnoloc":
                return self.send(201, "{}")
            return self.send(201, "{\"status\":\"valid\"}", headers={"Location": base + "/acct/1"})
        if what == "order":
            if sc == "badorder":
                return self.send(201, "{\"status\": 7, \"finalize\": []}", headers={"Location": base + "/order/1"})
            return self.send(201, "{\"status\":\"pending\",\"authorizations\":[\"" + base +
                             "/authz/1\"],\"finalize\":\"" + base + "/fin\"}",
                             headers={"Location": base + "/order/1"})
        if what == "authz/1":
            # control characters and a very long detail: must not reach a terminal raw
            return self.send(200, json.dumps({"status": "pending", "identifier": {"type": "dns", "value": "x.test"},
                                              "challenges": [{"type": "http-01", "url": base + "/ch",
                                                              "token": "../../../etc/passwd", "status": "pending"}]}))
        return self.problem(404, "malformed", "no such thing")

    do_GET = do_POST = do_HEAD = handle_any


def main():
    cert, key, portfile = sys.argv[1:4]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_port))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
