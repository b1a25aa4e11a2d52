#!/usr/bin/env python3
"""fake_mysql: a hostile MySQL server for tests, one connection at a time.

It greets a client as a MariaDB server would, then asks for the password in
the clear (mysql_clear_password), either at once in the handshake or by an
authentication switch after a normal mysql_native_password greeting, which
is what a server someone points the agent at could do. Everything the client
sends is appended to CAPTURE (after a "[connection]" line per client), so a
test can check that the password never arrives. Every login is refused with error 1045.

    fake_mysql.py PORT CAPTURE MODE     MODE: clear | switch-clear | switch-sha256
"""
import os
import socket
import struct
import sys

from mysqlwire import packet, read_packet

CAPS = (0x1 | 0x2 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x80000 | 0x200000)


def greeting(plugin):
    scramble = os.urandom(20).replace(b"\0", b"x")
    return (b"\x0a" + b"5.5.5-10.11.99-MariaDB-fake\0" + struct.pack("<I", 7) + scramble[:8] + b"\0" +
            struct.pack("<H", CAPS & 0xFFFF) + b"\x2d" + struct.pack("<H", 2) + struct.pack("<H", CAPS >> 16) +
            b"\x15" + b"\0" * 10 + scramble[8:] + b"\0" + plugin + b"\0")


def serve(conn, capture, mode):
    capture.write(b"[connection]\n")
    capture.flush()
    first = b"mysql_clear_password" if mode == "clear" else b"mysql_native_password"
    conn.sendall(packet(0, greeting(first)))
    seq, body = read_packet(conn)
    if body is None:
        return
    capture.write(body)
    if mode.startswith("switch-"):
        plugin = b"mysql_clear_password" if mode == "switch-clear" else b"sha256_password"
        conn.sendall(packet(seq + 1, b"\xfe" + plugin + b"\0" + os.urandom(20).replace(b"\0", b"x") + b"\0"))
        seq, body = read_packet(conn)
        if body is None:
            return
        capture.write(body)
    err = b"\xff" + struct.pack("<H", 1045) + b"#28000" + b"Access denied (fake server)"
    conn.sendall(packet(seq + 1, err))


def main():
    port, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(5)
        with conn, open(path, "ab") as capture:
            try:
                serve(conn, capture, mode)
            except OSError:
                pass


if __name__ == "__main__":
    main()
