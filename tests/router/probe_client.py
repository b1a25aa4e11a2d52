#!/usr/bin/python3
"""What no well-behaved client does, done to the router on purpose.

Debian's python3 (/usr/bin/python3: the python3 on PATH may be a pyenv
build that does not see Debian's python3-pymysql). Subcommands, each
printing `key value` lines and exiting 1 with `error WHAT` on a surprise:

  malformed HOST PORT USER PASSWORD
      Raw sockets, each case on a connection of its own:
        garbage_login      a login packet of random bytes   -> ERR 1043, closed
        out_of_order       a command with sequence 5         -> ERR 1156, closed
        oversized          frames past the router's max-packet -> ERR 1153, closed
        truncated          half a packet, then hang up       (nothing to read)
        sha2_client        a login naming caching_sha2_password -> switched to
                           mysql_native_password, then logged in
                           (`sha2_client switched_to PLUGIN result ok|CODE`)
      Each line reads `CASE code N closed yes|no`.
  many HOST PORT USER PASSWORD N HOLD_FILE
      Open N connections (pymysql), run SELECT 1 on each, print `ready N`,
      wait until HOLD_FILE exists, run SELECT 1 on each again, close all,
      print `closed N`.
  across_switch HOST PORT USER PASSWORD DB FLAG_FILE
      Two sessions: one pinned by a user variable, one plain. Prints
      `ready`, waits until FLAG_FILE exists (the test switches meanwhile),
      then prints `plain_after SERVER_ID` (or `plain_after error CODE`) and
      `pinned_after error CODE` (or `pinned_after value V`: its state
      would have silently followed, which must not happen).
  kill_query HOST PORT USER PASSWORD
      Connection A runs SELECT SLEEP(20); connection B sends KILL QUERY
      with A's id from the handshake (what drivers do on a query timeout).
      Prints `kill_query_seconds S` (how long A's query lasted).
"""
import os
import socket
import struct
import sys
import threading
import time

import pymysql

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from mysqlwire import native_token, packet, read_packet  # noqa: E402


def closed_after(s):
    s.settimeout(5)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return True


def greet(host, port):
    s = socket.create_connection((host, port), timeout=10)
    _, hello = read_packet(s)
    # protocol(1) version NUL conn_id(4) scramble1(8) filler(1) ... scramble2 after 13 more bytes
    at = hello.index(b"\0", 1) + 1
    scramble = hello[at + 4:at + 12]
    rest = at + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
    scramble += hello[rest:rest + 12]
    return s, scramble


def login(host, port, user, password):
    s, scramble = greet(host, port)
    caps = 0x00000200 | 0x00008000 | 0x00080000 | 0x00000001  # 4.1, secure conn, plugin auth, long pw
    body = struct.pack("<IIB", caps, 1 << 24, 33) + b"\0" * 23 + user.encode() + b"\0"
    token = native_token(password, scramble)
    body += bytes([len(token)]) + token + b"mysql_native_password\0"
    s.sendall(packet(1, body))
    _, reply = read_packet(s)
    if not reply or reply[0] != 0:
        raise SystemExit("error login: %r" % reply)
    return s


def err_code(body):
    return struct.unpack("<H", body[1:3])[0] if body and body[0] == 0xFF else None


def malformed(host, port, user, password):
    s, _ = greet(host, port)
    s.sendall(packet(1, os.urandom(40)))
    _, body = read_packet(s)
    print("garbage_login code %s closed %s" % (err_code(body), "yes" if closed_after(s) else "no"), flush=True)

    s = login(host, port, user, password)
    s.sendall(packet(5, b"\x03SELECT 1"))
    _, body = read_packet(s)
    print("out_of_order code %s closed %s" % (err_code(body), "yes" if closed_after(s) else "no"), flush=True)

    # Full frames announce a packet past any sane max-packet; the router
    # must refuse from the headers alone, without buffering it all.
    s = login(host, port, user, password)
    frame = b"\xff\xff\xff\x00" + b"\x03" + b"x" * (0xFFFFFF - 1)
    code = None
    try:
        for i in range(8):
            s.sendall(bytes([0xff, 0xff, 0xff, i]) + (frame[4:] if i == 0 else b"x" * 0xFFFFFF))
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(10)
    try:
        _, body = read_packet(s)
        code = err_code(body)
    except (ConnectionResetError, socket.timeout):
        pass
    print("oversized code %s closed %s" % (code, "yes" if closed_after(s) else "no"), flush=True)

    s = login(host, port, user, password)
    s.sendall(b"\x20\x00\x00\x00\x03SEL")
    s.close()
    print("truncated sent yes", flush=True)

    # A MySQL 8 client's default: it names caching_sha2_password and sends
    # that plugin's scramble; the router asks it to switch.
    s, scramble = greet(host, port)
    caps = 0x00000200 | 0x00008000 | 0x00080000 | 0x00000001
    body = struct.pack("<IIB", caps, 1 << 24, 33) + b"\0" * 23 + user.encode() + b"\0"
    body += bytes([32]) + os.urandom(32) + b"caching_sha2_password\0"
    s.sendall(packet(1, body))
    seq, switch = read_packet(s)
    plugin = switch[1:switch.index(b"\0", 1)].decode() if switch and switch[0] == 0xFE else "none"
    result = "no switch"
    if plugin == "mysql_native_password":
        new_scramble = switch[len(plugin) + 2:len(plugin) + 2 + 20]
        s.sendall(packet(seq + 1, native_token(password, new_scramble)))
        _, reply = read_packet(s)
        result = "ok" if reply and reply[0] == 0 else str(err_code(reply))
    print("sha2_client switched_to %s result %s" % (plugin, result), flush=True)
    s.close()


def connect(host, port, user, password):
    return pymysql.connect(host=host, port=port, user=user, password=password, autocommit=True,
                           connect_timeout=30, read_timeout=60)


def many(host, port, user, password, n, hold_file):
    conns = []
    for _ in range(n):
        conns.append(connect(host, port, user, password))
    for c in conns:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    print("ready %d" % len(conns), flush=True)
    deadline = time.time() + 300
    while not os.path.exists(hold_file):
        if time.time() > deadline:
            raise SystemExit("error hold file %s never appeared" % hold_file)
        time.sleep(0.1)
    ok = 0
    for c in conns:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            ok += cur.fetchall()[0][0]
        c.close()
    print("closed %d" % ok, flush=True)


def across_switch(host, port, user, password, db, flag):
    pinned = connect(host, port, user, password)
    plain = connect(host, port, user, password)
    for c in (pinned, plain):
        c.select_db(db)
    with pinned.cursor() as cur:
        cur.execute("SET @x = 42")
    with plain.cursor() as cur:
        cur.execute("SELECT 1")
    print("ready", flush=True)
    deadline = time.time() + 120
    while not os.path.exists(flag):
        if time.time() > deadline:
            raise SystemExit("error flag file %s never appeared" % flag)
        time.sleep(0.1)
    try:
        with plain.cursor() as cur:
            cur.execute("SELECT @@server_id")
            print("plain_after %s" % cur.fetchall()[0][0], flush=True)
    except pymysql.err.MySQLError as e:
        print("plain_after error %s" % e.args[0], flush=True)
    try:
        with pinned.cursor() as cur:
            cur.execute("SELECT @x")
            print("pinned_after value %s" % cur.fetchall()[0][0], flush=True)
    except pymysql.err.MySQLError as e:
        print("pinned_after error %s" % e.args[0], flush=True)


def kill_query(host, port, user, password):
    a = connect(host, port, user, password)
    b = connect(host, port, user, password)
    took = []

    def run():
        t0 = time.time()
        try:
            with a.cursor() as cur:
                cur.execute("SELECT SLEEP(20)")
                cur.fetchall()
        except pymysql.err.MySQLError:
            pass
        took.append(time.time() - t0)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(1)
    with b.cursor() as cur:
        cur.execute("KILL QUERY %d" % a.thread_id())
    t.join(30)
    print("kill_query_seconds %.1f" % (took[0] if took else 99), flush=True)


def main():
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    cmd, host, port, user, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    if cmd == "malformed":
        malformed(host, port, user, password)
    elif cmd == "many":
        many(host, port, user, password, int(sys.argv[6]), sys.argv[7])
    elif cmd == "across_switch":
        across_switch(host, port, user, password, sys.argv[6], sys.argv[7])
    elif cmd == "kill_query":
        kill_query(host, port, user, password)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
