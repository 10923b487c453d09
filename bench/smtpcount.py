#!/usr/bin/env python3
"""smtpcount.py - the SMTP sink of bench/notify.sh (aiosmtpd): accepts every
message, keeps only what the benchmark reports (messages, distinct
Message-IDs, recipients, bytes) in memory, and answers on a side port.

  smtpcount.py serve --port P --stats-port Q      until SIGTERM/SIGINT
  smtpcount.py stats --stats-port Q               prints the counts as JSON
  smtpcount.py send --port P --count N --message FILE --rcpt ADDR
      the sink's own rate: N copies of FILE (a whole message) over one
      smtplib connection, each with a fresh Message-ID; prints JSON.

tests/integration/lib/smtpsink.py keeps each message as a file and lists its
directory per message, which suits a test of a dozen mails, not 100,000.
"""
import argparse
import asyncio
import json
import re
import signal
import socket
import sys
import time

MSGID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.I | re.M)


def serve(a):
    from aiosmtpd.controller import Controller

    st = {"messages": 0, "bytes": 0, "rcpts": 0, "ids": set(), "first": 0.0, "last": 0.0}

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            now = time.monotonic()
            if not st["messages"]:
                st["first"] = now
            st["last"] = now
            st["messages"] += 1
            st["rcpts"] += len(envelope.rcpt_tos)
            st["bytes"] += len(envelope.original_content)
            m = MSGID.search(envelope.original_content)
            st["ids"].add(m.group(1) if m else b"")
            return "250 OK"

    ctl = Controller(Sink(), hostname="127.0.0.1", port=a.port)
    ctl.start()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.stats_port))
    srv.listen(4)
    stop = []
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    signal.signal(signal.SIGINT, lambda *x: stop.append(1))
    srv.settimeout(0.2)
    while not stop:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        out = {k: st[k] for k in ("messages", "bytes", "rcpts")}
        out["distinct_ids"] = len(st["ids"])
        out["seconds"] = st["last"] - st["first"]
        c.sendall(json.dumps(out).encode())
        c.close()
    ctl.stop()


def stats(a):
    c = socket.create_connection(("127.0.0.1", a.stats_port))
    data = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        data += b
    print(data.decode())


def send(a):
    import smtplib

    raw = open(a.message, "rb").read()
    m = MSGID.search(raw)
    s = smtplib.SMTP("127.0.0.1", a.port)
    t0 = time.monotonic()
    for i in range(a.count):
        msg = raw.replace(m.group(1), b"<peer-%d@bench.test>" % i) if m else raw
        s.sendmail("noreply@bench.test", [a.rcpt], msg)
    t = time.monotonic() - t0
    s.quit()
    print(json.dumps({"messages": a.count, "seconds": t, "per_second": a.count / t}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stats-port", type=int, required=True)
    p = sub.add_parser("stats")
    p.add_argument("--stats-port", type=int, required=True)
    p = sub.add_parser("send")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--message", required=True)
    p.add_argument("--rcpt", required=True)
    a = ap.parse_args()
    {"serve": serve, "stats": stats, "send": send}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
