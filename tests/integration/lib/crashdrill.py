#!/usr/bin/env python3
"""crashdrill.py - the evidence side of tests/integration/test_crash_drill.sh:
what the CA, the hosting servers, the SMTP server and the store say after
the drill, each judged on its own (standard library only).

  crashdrill.py dns MGMT_URL FILE   challtestsrv: each line "add NAME ADDR" or
                                    "clear NAME" (one process for hundreds)
  crashdrill.py open DB             "ORDERS_OPEN MAIL_WAITING MAIL_LEASED STATES" of
                                    the store: STATES the states of the orders a
                                    worker holds, "-" for none
  crashdrill.py check --db DB --pebble-log LOG --g3-mgmt URL --g3-ca PEM
                      --roots PEM --sites FILE --old DIR --smtp-dir DIR
      prints one "figure value" line per figure (and "# ..." details):
      orders, orders_done, revocation_pending,
      revoked_before_live    old certificate revoked before its successor was
                             live (event order, and g3's RevokedAt against
                             the time of the `live` event)
      acme_orders            newOrders Pebble created ("Added order")
      finalized_twice        ACME orders Pebble finalized more than once
      certs_issued           certificates Pebble issued
      orders_two_certs       certdesk orders with more than one certificate
                             (Pebble's orders mapped to attempts, and the store)
      orphans_pebble         Pebble orders no attempt recorded (left pending)
      orphan_events          certdesk's acme.orphan events
      names, names_wrong     names probed with SNI / not serving their order's
                             certificate
      chains_bad             chains not verifying to g4's root for the name
      old_not_revoked        old serials g3 does not report revoked
      mail_missing           done orders whose Message-ID never arrived
      deliveries, mail_repeated   messages received / with a Message-ID seen
                             before
      mail_repeat_unexplained     repeated Message-IDs whose message was
                             claimed only once (a redelivery must follow a
                             lapsed lease: a killed deliverer)
SITES lines: "FQDN ADDR TLS_PORT CERTIFICATE_ID"; the old certificate of FQDN
is OLD/FQDN/fullchain.pem.
"""
import collections
import datetime
import email
import hashlib
import base64
import json
import os
import re
import socket
import sqlite3
import ssl
import sys
import urllib.request
from email import policy


def dns(mgmt, path):
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "add":
                body = {"host": w[1], "addresses": [w[2]]}
                url = mgmt + "/add-a"
            else:
                body = {"host": w[1]}
                url = mgmt + "/clear-a"
            req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
            urllib.request.urlopen(req, timeout=10).read()


def store(db):
    return sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)


def open_work(db):
    c = store(db)
    o = c.execute("SELECT COUNT(*) FROM orders WHERE state NOT IN "
                  "('done', 'failed', 'canceled')").fetchone()[0]
    m = c.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL "
                  "AND failed_at IS NULL").fetchone()[0]
    leased = c.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL "
                       "AND lease_owner IS NOT NULL").fetchone()[0]
    states = [r[0] for r in c.execute("SELECT DISTINCT state FROM orders WHERE "
                                      "lease_owner IS NOT NULL ORDER BY state")]
    print(o, m, leased, ",".join(states) or "-")


def out(name, value):
    print(name, value)


def detail(text):
    print("# " + text)


def pebble_log(path):
    """Pebble's log: orders added, finalizations, certificates issued."""
    added, finalized, issued = [], collections.Counter(), collections.Counter()
    serial_of = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r'Added order "([^"]+)" to the db', line)
            if m:
                added.append(m.group(1))
                continue
            m = re.search(r"Order (\S+) is fully authorized\. Processing finalization", line)
            if m:
                finalized[m.group(1)] += 1
                continue
            m = re.search(r"Issued certificate serial ([0-9a-f]+) for order (\S+)", line)
            if m:
                issued[m.group(2)] += 1
                serial_of[m.group(2)] = m.group(1)
    return added, finalized, issued, serial_of


def leaf_serial(der):
    """The serial number of a DER certificate (Certificate > TBS > serial)."""
    def tlv(b, i):
        tag = b[i]
        n = b[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[i:i + k], "big")
            i += k
        return tag, i, n

    _, i, _ = tlv(der, 0)          # Certificate
    _, i, _ = tlv(der, i)          # TBSCertificate
    tag, j, n = tlv(der, i)
    if tag == 0xA0:                # [0] version
        i = j + n
    tag, j, n = tlv(der, i)        # serialNumber
    return int.from_bytes(der[j:j + n], "big")


def pem_serial(path):
    """The serial (hex) of the first certificate of a PEM file."""
    with open(path) as f:
        text = f.read()
    b64 = text.split("-----BEGIN CERTIFICATE-----", 1)[1].split("-----END", 1)[0]
    return "%x" % leaf_serial(base64.b64decode("".join(b64.split())))


def probe(addr, port, name, roots):
    """(leaf DER or None, whether the chain verified to roots for name)."""
    verified = True
    ctx = ssl.create_default_context(cafile=roots)
    for attempt in (ctx, None):
        if attempt is None:
            verified = False
            attempt = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            attempt.check_hostname = False
            attempt.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((addr, port), timeout=10) as s:
                with attempt.wrap_socket(s, server_hostname=name) as t:
                    return t.getpeercert(binary_form=True), verified
        except (ssl.SSLError, OSError) as e:
            if not verified:
                detail("%s at %s:%s: %s" % (name, addr, port, e))
                return None, False
            continue
    return None, False


def g3_status(mgmt, ca, serial_hex):
    ctx = ssl.create_default_context(cafile=ca)
    url = "%s/cert-status-by-serial/%x" % (mgmt, int(serial_hex, 16))
    with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
        return json.load(r)


def revoked_at(text):
    """Pebble's RevokedAt ("2026-12-07 15:01:19.903445033 +0000 UTC") in epoch seconds."""
    m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text or "")
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp())


def smtp_ids(d):
    ids = []
    for name in sorted(f for f in os.listdir(d) if f.endswith(".eml")):
        with open(os.path.join(d, name), "rb") as f:
            m = email.message_from_bytes(f.read(), policy=policy.default)
        ids.append(str(m.get("Message-ID", "")).strip().strip("<>"))
    return ids


def check(a):
    db = store(a.db)
    orders = db.execute("SELECT order_id, certificate_id, state, revocation_pending, "
                        "COALESCE(new_issuance_id, 0) FROM orders").fetchall()
    by_cert = {r[1]: r for r in orders}
    out("orders", len(orders))
    out("orders_done", sum(1 for r in orders if r[2] == "done"))
    out("revocation_pending", sum(1 for r in orders if r[3]))
    for r in orders:
        if r[2] != "done":
            detail("order %d (%s) is %s" % (r[0], r[1], r[2]))

    # the order of each order's events: `live` before `old_revoked`
    live, revoked = {}, {}
    for eid, at, oid, to in db.execute(
            "SELECT event_id, at, order_id, to_state FROM events WHERE kind = "
            "'order.transition' AND to_state IN ('live', 'old_revoked') ORDER BY event_id"):
        (live if to == "live" else revoked).setdefault(oid, (eid, at))
    early = set(oid for oid, (eid, _) in revoked.items()
                if oid not in live or live[oid][0] > eid)

    # g3: every old serial revoked, and not before the `live` event
    not_revoked = 0
    with open(a.sites) as f:
        sites = [line.split() for line in f if line.strip()]
    for fqdn, addr, port, cert in sites:
        old = pem_serial(os.path.join(a.old, fqdn, "fullchain.pem"))
        st = g3_status(a.g3_mgmt, a.g3_ca, old)
        if st.get("Status") != "Revoked":
            not_revoked += 1
            detail("old serial %s of %s: %s" % (old, cert, st.get("Status")))
            continue
        oid = by_cert[cert][0] if cert in by_cert else None
        t = revoked_at(st.get("RevokedAt"))
        if oid is None or oid not in live or t is None or t < live[oid][1]:
            early.add(oid)
            detail("old serial %s of %s revoked at %s, live event %s" %
                   (old, cert, st.get("RevokedAt"), live.get(oid)))
    out("revoked_before_live", len(early))
    out("old_not_revoked", not_revoked)

    # Pebble's log against the attempts certdesk recorded
    added, finalized, issued, serial_of = pebble_log(a.pebble_log)
    recorded = {}
    for oid, url in db.execute("SELECT order_id, acme_order_url FROM attempts "
                               "WHERE acme_order_url IS NOT NULL"):
        recorded[url.rstrip("/").rsplit("/", 1)[-1]] = oid
    out("acme_orders", len(added))
    out("finalized_twice", sum(1 for n in finalized.values() if n > 1))
    out("certs_issued", sum(issued.values()))
    certs_per_order = collections.Counter()
    for acme_id, n in issued.items():
        certs_per_order[recorded.get(acme_id, "unrecorded:" + acme_id)] += n
    two = set(k for k, n in certs_per_order.items() if n > 1)
    for oid, n in db.execute("SELECT order_id, COUNT(*) FROM issuances WHERE source = 'acme' "
                             "GROUP BY order_id HAVING COUNT(*) > 1"):
        two.add(oid)
    for k in sorted(two, key=str):
        detail("order %s has %d certificates at the CA" % (k, certs_per_order.get(k, 0)))
    out("orders_two_certs", len(two))
    orphans = [x for x in added if x not in recorded]
    unrecorded_issued = [x for x in issued if x not in recorded]
    if unrecorded_issued:
        detail("certificates issued for ACME orders certdesk never recorded: %s" %
               " ".join(unrecorded_issued))
    out("orphans_pebble", len(orphans))
    out("orphan_events", db.execute(
        "SELECT COUNT(*) FROM events WHERE kind = 'acme.orphan'").fetchone()[0])

    # every name serves its order's certificate, chain to g4's root
    names = wrong = bad_chain = 0
    for fqdn, addr, port, cert in sites:
        row = by_cert.get(cert)
        want = db.execute("SELECT sha256, serial FROM issuances WHERE issuance_id = ?",
                          (row[4] if row else 0,)).fetchone()
        for name in (fqdn, "www." + fqdn):
            names += 1
            der, ok = probe(addr, int(port), name, a.roots)
            bad_chain += not ok
            got = hashlib.sha256(der).hexdigest() if der else ""
            if not want or got != want[0].lower().replace(":", ""):
                wrong += 1
                detail("%s serves %s (serial %x), not its order's certificate %s" %
                       (name, got or "nothing", leaf_serial(der) if der else 0,
                        want[1] if want else "(none recorded)"))
    out("names", names)
    out("names_wrong", wrong)
    out("chains_bad", bad_chain)

    # mail: each done order's Message-ID arrived; repeats counted
    ids = smtp_ids(a.smtp_dir)
    seen = set(ids)
    missing = 0
    for oid, state in ((r[0], r[2]) for r in orders):
        row = db.execute("SELECT message_id FROM outbox WHERE order_id = ?",
                         (oid,)).fetchone()
        if row is None or row[0].strip("<>") not in seen:
            missing += 1
            detail("order %d: mail %s not received" % (oid, row[0] if row else "(none queued)"))
    out("mail_missing", missing)
    out("deliveries", len(ids))
    out("mail_repeated", len(ids) - len(seen))
    unexplained = 0
    for mid, n in collections.Counter(ids).items():
        if n < 2:
            continue
        row = db.execute("SELECT attempts FROM outbox WHERE message_id = ? OR message_id = ?",
                         (mid, "<%s>" % mid)).fetchone()
        if row is None or row[0] < n:
            unexplained += 1
            detail("Message-ID %s received %d times, claimed %s times" %
                   (mid, n, row[0] if row else "no"))
    out("mail_repeat_unexplained", unexplained)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "dns":
        return dns(sys.argv[2], sys.argv[3])
    if cmd == "open":
        return open_work(sys.argv[2])
    if cmd == "check":
        import argparse
        ap = argparse.ArgumentParser(prog="crashdrill.py check")
        for opt in ("--db", "--pebble-log", "--g3-mgmt", "--g3-ca", "--roots", "--sites",
                    "--old", "--smtp-dir"):
            ap.add_argument(opt, required=True)
        return check(ap.parse_args(sys.argv[2:]))
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
