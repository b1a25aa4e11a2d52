#!/usr/bin/python3
"""Sessions that meet a router's hold (a switch under way), for
test_router_hold.sh. Debian's python3 with python3-pymysql.

  write HOST PORT USER PASSWORD DB TOKEN
      One autocommit INSERT of TOKEN into DB.events on a new connection.
      Prints `write ok SECONDS` or `write error CODE SECONDS MESSAGE`.
  idle_txn HOST PORT USER PASSWORD DB TOKEN READY_FILE SECONDS
      BEGIN; INSERT TOKEN; touch READY_FILE; sleep SECONDS (the
      transaction stays open and idle); INSERT again; COMMIT. Prints
      `idle_txn ok` or `idle_txn error CODE MESSAGE` for the first
      statement after the sleep that failed, then `after ok|error CODE`
      for a new transaction on the same connection.
"""
import sys
import time

import pymysql


def connect(host, port, user, password, db):
    return pymysql.connect(host=host, port=int(port), user=user, password=password, database=db,
                           autocommit=True, connect_timeout=30, read_timeout=60, write_timeout=60)


def write(host, port, user, password, db, token):
    t0 = time.monotonic()
    try:
        c = connect(host, port, user, password, db)
        with c.cursor() as cur:
            cur.execute("INSERT INTO events (client, token) VALUES ('hold', %s)", (token,))
        c.close()
        print("write ok %.3f" % (time.monotonic() - t0))
    except pymysql.MySQLError as e:
        code = e.args[0] if e.args else 0
        msg = e.args[1] if len(e.args) > 1 else str(e)
        print("write error %s %.3f %s" % (code, time.monotonic() - t0, msg))


def idle_txn(host, port, user, password, db, token, ready_file, seconds):
    c = connect(host, port, user, password, db)
    cur = c.cursor()
    cur.execute("BEGIN")
    cur.execute("INSERT INTO events (client, token) VALUES ('hold', %s)", (token,))
    open(ready_file, "w").close()
    time.sleep(float(seconds))
    try:
        cur.execute("INSERT INTO events (client, token) VALUES ('hold', %s)", (token + "-2",))
        cur.execute("COMMIT")
        print("idle_txn ok")
    except pymysql.MySQLError as e:
        print("idle_txn error %s %s" % (e.args[0], e.args[1] if len(e.args) > 1 else ""))
        try:
            cur.execute("ROLLBACK")
        except pymysql.MySQLError:
            pass
    try:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO events (client, token) VALUES ('hold', %s)", (token + "-3",))
        cur.execute("COMMIT")
        print("after ok")
    except pymysql.MySQLError as e:
        print("after error %s" % e.args[0])
    c.close()


if __name__ == "__main__":
    cmds = {"write": write, "idle_txn": idle_txn}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: hold_client.py write|idle_txn ...")
    cmds[sys.argv[1]](*sys.argv[2:])
