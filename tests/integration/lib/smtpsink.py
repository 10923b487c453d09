#!/usr/bin/env python3
"""smtpsink.py - the SMTP server of certdesk's tests (aiosmtpd): keeps every
message it accepts as one file, and answers questions about what it holds.

  smtpsink.py serve --port P --dir D [--host 127.0.0.1] [--reject PREFIX]
                    [--hold-first N --hold SECONDS] [--auth USER:PASSWORD]
                    [--tls-cert PEM --tls-key PEM]
      accepts mail until SIGTERM/SIGINT; message N is D/NNNNNN.eml (the bytes
      received) with D/NNNNNN.json (envelope: mail_from, rcpt_tos). Recipients
      starting with PREFIX are refused with 550 (a permanent refusal). The
      first N messages are kept, then their "250" is held back SECONDS (a
      client killed meanwhile has delivered without knowing it). --auth
      requires AUTH with that login; --tls-cert requires STARTTLS first.
  smtpsink.py count D        number of messages held
  smtpsink.py ids D          each message's Message-ID, one per line, in arrival order
  smtpsink.py repeats D      deliveries whose Message-ID arrived before (0 = none)
  smtpsink.py json D         every message parsed back with Python's email
                             package: headers decoded, body text, envelope
"""
import asyncio
import json
import os
import signal
import sys
import threading


def serve(argv):
    import argparse

    from aiosmtpd.controller import Controller

    ap = argparse.ArgumentParser(prog="smtpsink.py serve")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reject", default="")
    ap.add_argument("--hold-first", type=int, default=0)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--auth", default="")
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    a = ap.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    lock = threading.Lock()

    class Sink:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if a.reject and address.startswith(a.reject):
                return "550 5.1.1 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            with lock:
                n = len([f for f in os.listdir(a.dir) if f.endswith(".eml")]) + 1
                base = os.path.join(a.dir, "%06d" % n)
                with open(base + ".json.tmp", "w") as f:
                    json.dump({"mail_from": envelope.mail_from,
                               "rcpt_tos": envelope.rcpt_tos}, f)
                with open(base + ".eml.tmp", "wb") as f:
                    f.write(envelope.original_content)
                os.rename(base + ".json.tmp", base + ".json")
                os.rename(base + ".eml.tmp", base + ".eml")
            if n <= a.hold_first:
                await asyncio.sleep(a.hold)
            return "250 OK queued as %06d" % n

    kw = {}
    if a.auth:
        from aiosmtpd.smtp import AuthResult
        user, pw = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (getattr(data, "login", b"") == user.encode() and
                  getattr(data, "password", b"") == pw.encode())
            return AuthResult(success=ok)
        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=bool(a.tls_cert))
    if a.tls_cert:
        import ssl
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        kw.update(tls_context=ctx, require_starttls=True)
    ctl = Controller(Sink(), hostname=a.host, port=a.port, **kw)
    ctl.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass
    ctl.stop()


def messages(d):
    import email
    from email import policy

    for name in sorted(f for f in os.listdir(d) if f.endswith(".eml")):
        with open(os.path.join(d, name), "rb") as f:
            raw = f.read()
        env = {}
        side = os.path.join(d, name[:-4] + ".json")
        if os.path.exists(side):
            with open(side) as f:
                env = json.load(f)
        yield name, raw, email.message_from_bytes(raw, policy=policy.default), env


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        return serve(rest)
    d = rest[0]
    msgs = list(messages(d)) if os.path.isdir(d) else []
    if cmd == "count":
        print(len(msgs))
    elif cmd == "ids":
        for _, _, m, _ in msgs:
            print(str(m.get("Message-ID", "")).strip())
    elif cmd == "repeats":
        seen, rep = set(), 0
        for _, _, m, _ in msgs:
            mid = str(m.get("Message-ID", "")).strip()
            rep += mid in seen
            seen.add(mid)
        print(rep)
    elif cmd == "json":
        out = []
        for name, raw, m, env in msgs:
            body = m.get_body(preferencelist=("plain",))
            out.append({
                "file": name,
                "envelope": env,
                "headers": [[k, str(v)] for k, v in m.items()],
                "raw_header_lines": raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").split("\r\n"),
                "subject": str(m["Subject"]),
                "to_names": [a.display_name for a in m["To"].addresses] if m["To"] else [],
                "message_id": str(m.get("Message-ID", "")).strip(),
                "defects": [type(x).__name__ for x in m.defects] +
                           [type(x).__name__ for v in m.values() for x in getattr(v, "defects", ())],
                "content_type": m.get_content_type(),
                "charset": m.get_content_charset(),
                "body": body.get_content() if body is not None else None,
            })
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
