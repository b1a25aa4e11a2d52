#!/usr/bin/python3
"""pymysql_client: one application session through PyMySQL, for the data
router's tests. It runs the scenario every router client runs (the same as
tests/tools/router_client.c and tests/node/router_client.js) with PyMySQL's
ordinary DB-API, so the router sees what a real Python application sends.
PyMySQL has no server-side prepared statements: every statement, with its
parameters interpolated by the library, is a COM_QUERY; transactions are
BEGIN/COMMIT queries; select_db() is COM_INIT_DB; ping() is COM_PING.

  tests/router/pymysql_client.py --host H --port P --user U --password PW \\
      --database DB --client NAME --token T

e.g. by hand against the sandbox source (see tests/router/schema.sql):
  tests/router/pymysql_client.py --host 127.0.0.1 --port 23306 --user app \\
      --password app-password --database rc --client py --token t1

It runs under Debian's /usr/bin/python3 (package python3-pymysql, listed in
tests/deps.sh), not whatever `python3` is first on PATH: a pyenv or venv
interpreter does not see Debian's packages. Run it as a program (the
shebang) or with /usr/bin/python3 explicitly.

DB must hold this table, and DB_b must exist (empty):
  CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, client VARCHAR(32) NOT NULL,
                       token VARCHAR(64) NOT NULL, sid INT NOT NULL, v INT NOT NULL DEFAULT 0,
                       big LONGBLOB NULL, KEY (token)) ENGINE=InnoDB;

Output on stdout, one flushed line per result, `key value...`:
  read_server ID        1. SELECT @@server_id
  insert_id N           2. INSERT (sid = @@server_id), autocommit on
  last_insert_id N         SELECT LAST_INSERT_ID()
  write_server SID         the sid that insert stored: who executed it (waits up to 10 s for the row: replication lag)
  affected N            3. UPDATE of this client's row (cursor.rowcount)
  tx_read_server ID     4. conn.begin() (BEGIN), INSERT, SELECT @@server_id,
  tx_count N               COUNT(*), SELECT of the new row's sid,
  tx_write_server SID      conn.commit() (COMMIT)
  ps_read_server ID     5. SELECT @@server_id, %s with 42, twice
  ps_echo 42               (interpolated: no server-side statement)
  multi 1,2,3           6. SELECT 1 AS a; SELECT 2 AS b, 3 AS c, nextset()
  tz TZ ID              7. SET time_zone = '+05:00', then a plain SELECT
  db NAME ID            8. select_db(DB_b), SELECT DATABASE(); back to DB
  ping ok               9. ping(reconnect=False)
  done
Steps 10 and 11 (big values, reset, change user) are the C client's.
On the first failure: `error STEP MESSAGE` (STEP is the key being worked on,
or connect, args or internal; the message on one line) and exit status 1.
The password is never printed.
"""
import argparse
import re
import sys
import time

import pymysql
from pymysql.constants import CLIENT


class StepError(Exception):
    def __init__(self, step, message):
        super().__init__(message)
        self.step = step


def one_line(s):
    # The output is a line protocol; a server message may hold newlines.
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), str(s))


def out(*words):
    print(" ".join(one_line(w) for w in words), flush=True)


class Args(argparse.ArgumentParser):
    def error(self, message):
        raise StepError("args", message)


def parse_args(argv):
    p = Args(prog="pymysql_client.py", add_help=False)
    for name in ("host", "port", "user", "password", "database", "client", "token"):
        p.add_argument("--" + name, required=True, type=int if name == "port" else str)
    o = p.parse_args(argv)
    if not 1 <= o.port <= 65535:
        raise StepError("args", "--port must be 1-65535")
    return o


class Session:
    """The connection, and the step and statement being worked on, so any
    library error is reported against them."""

    def __init__(self, conn):
        self.conn = conn
        self.cur = conn.cursor()

    def execute(self, step, sql, args=None):
        try:
            self.cur.execute(sql, args)
        except pymysql.err.MySQLError as e:
            raise StepError(step, "%s: %s" % (sql, mysql_message(e))) from e
        return self.cur

    def row(self, step, sql, ncols, args=None):
        rows = self.execute(step, sql, args).fetchall()
        if len(rows) != 1 or len(rows[0]) != ncols:
            raise StepError(step, "%s: expected 1 row of %d columns, got %r" % (sql, ncols, rows))
        if any(v is None for v in rows[0]):
            raise StepError(step, "%s: a column is NULL: %r" % (sql, rows[0]))
        return [str(v) for v in rows[0]]

    def row_wait(self, step, sql, ncols):
        # Step 2's read of the row just written: through a router in
        # VALIDATE mode it runs on the destination, which replication
        # reaches a moment later. Wait up to 10 s, as an application that
        # tolerates lag would.
        for _ in range(100):
            if self.execute(step, sql).fetchall():
                break
            time.sleep(0.1)
        return self.row(step, sql, ncols)

    def call(self, step, what, fn, *args):
        try:
            return fn(*args)
        except pymysql.err.MySQLError as e:
            raise StepError(step, "%s: %s" % (what, mysql_message(e))) from e


def mysql_message(e):
    if len(e.args) == 2 and isinstance(e.args[0], int):
        return "%s (error %d)" % (e.args[1], e.args[0])
    return str(e)


def scenario(s, o):
    out("read_server", *s.row("read_server", "SELECT @@server_id", 1))

    insert = "INSERT INTO events (client, token, sid, v) VALUES (%s, %s, @@server_id, 1)"
    new_id = s.execute("insert_id", insert, (o.client, o.token)).lastrowid
    out("insert_id", new_id)
    out("last_insert_id", *s.row("last_insert_id", "SELECT LAST_INSERT_ID()", 1))
    out("write_server", *s.row_wait("write_server", "SELECT sid FROM events WHERE id = %d" % int(new_id), 1))

    cur = s.execute("affected", "UPDATE events SET v = v + 1 WHERE token = %s AND client = %s", (o.token, o.client))
    out("affected", cur.rowcount)

    s.call("tx_read_server", "begin", s.conn.begin)
    s.execute("tx_read_server", insert, (o.client, o.token))
    sid, count = s.row("tx_read_server", "SELECT @@server_id, COUNT(*) FROM events WHERE token = %s AND client = %s",
                       2, (o.token, o.client))
    out("tx_read_server", sid)
    out("tx_count", count)
    out("tx_write_server", *s.row("tx_write_server", "SELECT sid FROM events WHERE id = LAST_INSERT_ID()", 1))
    s.call("tx_write_server", "commit", s.conn.commit)

    first = s.row("ps_read_server", "SELECT @@server_id, %s", 2, (42,))
    second = s.row("ps_read_server", "SELECT @@server_id, %s", 2, (42,))
    if first != second:
        raise StepError("ps_read_server", "two executions disagree: %r then %r" % (first, second))
    out("ps_read_server", first[0])
    out("ps_echo", first[1])

    sql = "SELECT 1 AS a; SELECT 2 AS b, 3 AS c"
    cur = s.execute("multi", sql)
    values = []
    while True:
        values += [str(v) for r in cur.fetchall() for v in r]
        if not s.call("multi", "nextset", cur.nextset):
            break
    out("multi", ",".join(values))

    s.execute("tz", "SET time_zone = '+05:00'")
    out("tz", *s.row("tz", "SELECT @@time_zone, @@server_id", 2))

    s.call("db", "select_db " + o.database + "_b", s.conn.select_db, o.database + "_b")
    out("db", *s.row("db", "SELECT DATABASE(), @@server_id", 2))
    s.call("db", "select_db " + o.database, s.conn.select_db, o.database)

    s.call("ping", "ping", s.conn.ping, False)
    out("ping", "ok")


def main(argv):
    try:
        o = parse_args(argv)
        try:
            # autocommit=True: PyMySQL's default (False) would send
            # SET AUTOCOMMIT = 0 at connect and put every statement in a
            # transaction; step 2 is an autocommit write.
            conn = pymysql.connect(host=o.host, port=o.port, user=o.user, password=o.password, database=o.database,
                                   charset="utf8mb4", autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS)
        except pymysql.err.MySQLError as e:
            raise StepError("connect", "%s:%d as %s, database %s: %s" % (o.host, o.port, o.user, o.database,
                                                                          mysql_message(e))) from e
        try:
            scenario(Session(conn), o)
        finally:
            try:
                conn.close()
            except pymysql.err.Error:
                pass  # already closed by the failure being reported
    except StepError as e:
        out("error", e.step, e)
        return 1
    except Exception as e:  # a library failure outside any MySQLError: still one line
        out("error", "internal", "%s: %s" % (type(e).__name__, e))
        return 1
    out("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
