"""mysqlwire: the MySQL protocol's framing for the Python test tools.

Frames are 3 bytes of length, 1 of sequence, then the payload. Shared by
fake_mysql.py (a hostile server) and tests/router/probe_client.py (a
misbehaving client); the standard library only.
"""
import hashlib
import struct


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def read_packet(sock):
    """(sequence, payload), or (None, None) if the peer closed first."""
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None, None
        head += chunk
    n = head[0] | head[1] << 8 | head[2] << 16
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            break
        body += chunk
    return head[3], body


def native_token(password, scramble):
    """mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))."""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mix = hashlib.sha1(scramble + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mix))
