#!/usr/bin/python3
"""ryw_pairs: write-then-read pairs through PyMySQL, for the data router's
read-your-writes test (tests/integration/test_router_ryw.sh). The same
scenario and output as tests/tools/ryw_client.c, from a client that does
NOT negotiate CLIENT_SESSION_TRACK (PyMySQL's capabilities leave it out),
so through the router its writes' GTIDs are asked with a query of the
router's own (see agent/router/ryw.h).

  tests/router/ryw_pairs.py --host H --port P --user U --password PW \\
      --database DB --id K --pairs N [--start V] [--transaction] \\
      [--reader-connection] [--row-count]

Each pair: UPDATE ryw SET v = V+i WHERE id = K (autocommit; with
--transaction inside BEGIN ... COMMIT), then SELECT v, @@server_id FROM
ryw WHERE id = K; with --reader-connection the reads go through a second
connection (another session, for the router's mode global); with
--row-count each UPDATE is followed by SELECT ROW_COUNT(), which must say 1
(nothing of the router's may run between them). Output:
  pairs N stale S
  servers SID=COUNT ...
  read_us p50 A p90 B p99 C max D avg E
  write_us ...
  row_count_wrong W         with --row-count: ROW_COUNT() answers that were not 1
  caps session_track=0      what PyMySQL asked for
Runs under Debian's /usr/bin/python3 (python3-pymysql).
"""
import argparse
import sys
import time

import pymysql
from pymysql.constants import CLIENT


def latency(name, values):
    v = sorted(values)
    n = len(v)
    print("%s p50 %d p90 %d p99 %d max %d avg %d" % (name, v[n // 2], v[n * 9 // 10], v[n * 99 // 100], v[-1],
                                                      sum(v) // n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", default="")
    ap.add_argument("--database", required=True)
    ap.add_argument("--id", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--transaction", action="store_true")
    ap.add_argument("--reader-connection", action="store_true")
    ap.add_argument("--row-count", action="store_true")
    a = ap.parse_args()
    start = a.start or int(time.time() * 1e6)  # no two runs write the same values
    try:
        conn = pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password, database=a.database,
                               autocommit=True)
        reader = conn
        if a.reader_connection:
            reader = pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password,
                                     database=a.database, autocommit=True)
    except pymysql.MySQLError as e:
        print("error connect %s" % str(e).replace("\n", " "))
        return 1
    cur = conn.cursor()
    rcur = reader.cursor()
    stale = 0
    row_count_wrong = 0
    servers = {}
    rlat, wlat = [], []
    try:
        for i in range(a.pairs):
            want = start + i
            t0 = time.monotonic()
            if a.transaction:
                conn.begin()
            cur.execute("UPDATE ryw SET v = %s WHERE id = %s", (want, a.id))
            if a.row_count:
                cur.execute("SELECT ROW_COUNT()")
                if cur.fetchone()[0] != 1:
                    row_count_wrong += 1
            if a.transaction:
                conn.commit()
            t1 = time.monotonic()
            rcur.execute("SELECT v, @@server_id FROM ryw WHERE id = %s", (a.id,))
            row = rcur.fetchone()
            t2 = time.monotonic()
            if row is None:
                print("error read no row for id %d" % a.id)
                return 1
            if int(row[0]) != want:
                stale += 1
            servers[int(row[1])] = servers.get(int(row[1]), 0) + 1
            wlat.append(int((t1 - t0) * 1e6))
            rlat.append(int((t2 - t1) * 1e6))
    except pymysql.MySQLError as e:
        print("error pair %s" % str(e).replace("\n", " "))
        return 1
    print("pairs %d stale %d" % (a.pairs, stale))
    print("servers " + " ".join("%d=%d" % kv for kv in servers.items()))
    latency("read_us", rlat)
    latency("write_us", wlat)
    if a.row_count:
        print("row_count_wrong %d" % row_count_wrong)
    print("caps session_track=%d" % (1 if conn.client_flag & CLIENT.SESSION_TRACK else 0))
    conn.close()
    if reader is not conn:
        reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
