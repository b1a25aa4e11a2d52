/* Unit tests: classify, the router's statement classifier. One table of
 * statements with the expected route, kind, flags and key or schema name:
 * every rule of the router's contract, what real drivers and tools send
 * (sysbench, JDBC, the mysql CLI, mysql2/pymysql, Django, Rails,
 * mysqldump), and the traps (keywords in strings, names and comments,
 * executable comments, "--" without a space, backslashes, unterminated
 * text). Each statement is classified from a heap copy of exactly its
 * length, so valgrind sees any read past it. Then the given length, NUL
 * bytes, very long text, and every text of up to two bytes against the
 * invariants classify.h promises. */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"

#define RD CLASSIFY_ROUTE_READ
#define WR CLASSIFY_ROUTE_WRITE
#define LS CLASSIFY_ROUTE_LAST
#define SEL CLASSIFY_KIND_SELECT
#define INS CLASSIFY_KIND_INSERT
#define UPD CLASSIFY_KIND_UPDATE
#define DEL CLASSIFY_KIND_DELETE
#define DDL CLASSIFY_KIND_DDL
#define TXN CLASSIFY_KIND_TXN
#define SET CLASSIFY_KIND_SET
#define SHW CLASSIFY_KIND_SHOW
#define OTH CLASSIFY_KIND_OTHER
#define PIN CLASSIFY_PIN
#define SS CLASSIFY_SESSION_SET
#define USE CLASSIFY_USE
#define MUL CLASSIFY_MULTI
#define LI CLASSIFY_LOCAL_INFILE
#define AC CLASSIFY_AUTOCOMMIT
#define TB CLASSIFY_TXN_BEGIN
#define TE CLASSIFY_TXN_END
#define UNL CLASSIFY_UNLOCK

typedef struct {
    const char *sql;
    classify_route route;
    classify_kind kind;
    unsigned flags;
    const char *str; /* SS: key; USE: name; AC: "0" or "1" */
} cls_case;

static const cls_case cases[] = {
    /* plain reads, as benchmarks, drivers and the CLI send them */
    {"SELECT 1", RD, SEL, 0, NULL},
    {"select * from t where id = 1", RD, SEL, 0, NULL},
    {"Select 1", RD, SEL, 0, NULL},
    {"SELECT c FROM sbtest1 WHERE id=?", RD, SEL, 0, NULL},
    {"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c", RD, SEL, 0, NULL},
    {"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?", RD, SEL, 0, NULL},
    {"select @@version_comment limit 1", RD, SEL, 0, NULL},
    {"/* mysql-connector-java-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  "
     "@@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS "
     "character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS "
     "character_set_results, @@character_set_server AS character_set_server, @@collation_server AS "
     "collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, "
     "@@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS "
     "lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS "
     "net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone "
     "AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, "
     "@@wait_timeout AS wait_timeout",
     RD, SEL, 0, NULL},
    {"SELECT @@session.sql_mode, @@global.max_connections, @@`time_zone`", RD, SEL, 0, NULL},
    {"(SELECT 1) UNION (SELECT 2)", RD, SEL, 0, NULL},
    {"((SELECT a FROM t))", RD, SEL, 0, NULL},
    {"WITH c AS (SELECT 1 AS x) SELECT x FROM c", RD, SEL, 0, NULL},
    {"WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r", RD, SEL, 0,
     NULL},
    {"(WITH c AS (SELECT 1) SELECT * FROM c)", RD, SEL, 0, NULL},
    {"VALUES (1, 2), (3, 4)", RD, SEL, 0, NULL},
    {"TABLE t", RD, SEL, 0, NULL},
    {"SELECT * FROM t WHERE a = x'41' AND b = _utf8mb4'x' COLLATE utf8mb4_bin", RD, SEL, 0, NULL},
    {"SELECT 'user@example.com', a FROM t", RD, SEL, 0, NULL},
    {"SELECT nextval_x, lastval, last_insert_id FROM t", RD, SEL, 0, NULL},
    {"SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t", RD, SEL, 0, NULL},
    {"SELECT /*!40001 SQL_NO_CACHE */ * FROM t", RD, SEL, 0, NULL},
    {"SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'", RD, SEL, 0, NULL},
    {"SELECT 1;", RD, SEL, 0, NULL},
    {"SELECT 1 ; -- done\n /* end */ ", RD, SEL, 0, NULL},
    {"SELECT 'a;b';", RD, SEL, 0, NULL},
    /* keywords inside strings, quoted names, comments, after a '.' */
    {"SELECT 'FOR UPDATE'", RD, SEL, 0, NULL},
    {"SELECT * FROM `for` WHERE `update` = 1", RD, SEL, 0, NULL},
    {"SELECT * FROM t WHERE a = \"LOCK IN SHARE MODE\"", RD, SEL, 0, NULL},
    {"SELECT 'it''s', \"say \"\"for update\"\"\" FROM t", RD, SEL, 0, NULL},
    {"SELECT `a``b`, 'GET_LOCK(1)', `@x` FROM t", RD, SEL, 0, NULL},
    {"SELECT * FROM t /* FOR UPDATE */", RD, SEL, 0, NULL},
    {"SELECT * FROM t -- FOR UPDATE\n", RD, SEL, 0, NULL},
    {"SELECT * FROM t --\tFOR UPDATE", RD, SEL, 0, NULL},
    {"SELECT * FROM t # FOR UPDATE", RD, SEL, 0, NULL},
    {"SELECT * FROM t --", RD, SEL, 0, NULL},
    {"SELECT t.for, t.into, t.update FROM t", RD, SEL, 0, NULL},
    {"SELECT 1--1", RD, SEL, 0, NULL},
    {"SELECT 1 --FOR UPDATE", WR, SEL, 0, NULL}, /* "--" without a space is two minus signs */
    {"sElEcT 1 fOr UpDaTe", WR, SEL, 0, NULL},
    /* executable comments are code */
    {"SELECT * FROM t /*! FOR UPDATE */", WR, SEL, 0, NULL},
    {"SELECT * FROM t /*!50000 FOR UPDATE */", WR, SEL, 0, NULL},
    {"SELECT * FROM t /*M!100101 FOR UPDATE*/", WR, SEL, 0, NULL},
    {"/*M!100100 SELECT 1 FOR UPDATE */", WR, SEL, 0, NULL},
    {"/*!40000 ALTER TABLE t DISABLE KEYS */", WR, DDL, 0, NULL},
    {"/*!50001 CREATE TEMPORARY TABLE x (a INT) */", WR, DDL, PIN, NULL},
    {"/*!40101 SET NAMES utf8mb4 */", WR, SET, SS, "names"},
    {"/*!40101 SET character_set_client = utf8 */;", WR, SET, SS, "character_set_client"},
    {"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;", WR, SET, PIN, NULL},
    /* locking reads, INTO, user variables */
    {"SELECT * FROM t WHERE id = 1 FOR UPDATE", WR, SEL, 0, NULL},
    {"select * from t for update nowait", WR, SEL, 0, NULL},
    {"SELECT * FROM t LOCK IN SHARE MODE", WR, SEL, 0, NULL},
    {"SELECT * FROM t FOR SHARE SKIP LOCKED", WR, SEL, 0, NULL},
    {"WITH c AS (SELECT 1) SELECT * FROM c FOR UPDATE", WR, SEL, 0, NULL},
    {"SELECT * INTO OUTFILE '/tmp/t.csv' FROM t", WR, SEL, 0, NULL},
    {"SELECT * FROM t INTO DUMPFILE '/tmp/x'", WR, SEL, 0, NULL},
    {"SELECT a INTO @a FROM t", WR, SEL, PIN, NULL},
    {"SELECT a, b FROM t LIMIT 1 INTO @a, @b", WR, SEL, PIN, NULL},
    {"SELECT @x", WR, SEL, 0, NULL},
    {"SELECT * FROM t WHERE id = @id", WR, SEL, 0, NULL},
    {"SELECT@x", WR, SEL, 0, NULL},
    {"SELECT @`quoted var`, @'x'", WR, SEL, 0, NULL},
    {"SELECT @x := 1", WR, SEL, PIN, NULL},
    {"SELECT @'x' := 2", WR, SEL, PIN, NULL},
    {"SELECT @ x := 3", WR, SEL, PIN, NULL},
    {"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", WR, SEL, PIN, NULL},
    /* session-bound functions and variables */
    {"SELECT LAST_INSERT_ID()", WR, SEL, 0, NULL},
    {"SELECT last_insert_id ( )", WR, SEL, 0, NULL},
    {"SELECT last_insert_id/* c */()", WR, SEL, 0, NULL},
    {"SELECT GET_LOCK('job', 10)", WR, SEL, PIN, NULL},
    {"SELECT `get_lock`('job', 10)", WR, SEL, PIN, NULL},
    {"SELECT RELEASE_LOCK('job')", WR, SEL, 0, NULL},
    {"SELECT RELEASE_ALL_LOCKS()", WR, SEL, 0, NULL},
    {"SELECT IS_FREE_LOCK('job'), IS_USED_LOCK('job')", WR, SEL, 0, NULL},
    {"SELECT NEXTVAL(s)", WR, SEL, 0, NULL},
    {"SELECT lastval(s), setval(s, 10)", WR, SEL, 0, NULL},
    {"SELECT NEXT VALUE FOR s", WR, SEL, 0, NULL},
    {"SELECT PREVIOUS VALUE FOR db.s", WR, SEL, 0, NULL},
    {"SELECT s.nextval", WR, SEL, 0, NULL},
    {"SELECT CONNECTION_ID()", WR, SEL, 0, NULL},
    {"SELECT MASTER_POS_WAIT('bin.000001', 4)", WR, SEL, 0, NULL},
    {"SELECT MASTER_GTID_WAIT('0-1-100', 1)", WR, SEL, 0, NULL},
    {"SELECT LOAD_FILE('/etc/hosts')", WR, SEL, 0, NULL},
    {"SELECT @@last_insert_id", WR, SEL, 0, NULL},
    {"SELECT @@IDENTITY", WR, SEL, 0, NULL},
    {"SELECT db.add_order(1)", WR, SEL, 0, NULL},
    {"SELECT `db`.`f`(1)", WR, SEL, 0, NULL},
    {"SELECT FOUND_ROWS()", LS, SEL, 0, NULL},
    {"SELECT ROW_COUNT()", LS, SEL, 0, NULL},
    {"SELECT @@warning_count", LS, SEL, 0, NULL},
    {"SELECT @@session.error_count", LS, SEL, 0, NULL},
    {"SELECT 1, FOUND_ROWS(), LAST_INSERT_ID()", WR, SEL, 0, NULL}, /* write beats last */
    /* SHOW */
    {"SHOW TABLES", RD, SHW, 0, NULL},
    {"show full tables from db like 'x%'", RD, SHW, 0, NULL},
    {"SHOW CREATE TABLE t", RD, SHW, 0, NULL},
    {"SHOW VARIABLES LIKE 'sql_mode'", RD, SHW, 0, NULL},
    {"SHOW GRANTS FOR 'app'@'%'", RD, SHW, 0, NULL},
    {"SHOW GRANTS FOR CURRENT_USER()", RD, SHW, 0, NULL},
    {"SHOW GRANTS FOR root@localhost", WR, SHW, 0, NULL}, /* a bare user reads as a variable */
    {"SHOW ENGINE INNODB STATUS", RD, SHW, 0, NULL},
    {"SHOW WARNINGS", LS, SHW, 0, NULL},
    {"show errors limit 5", LS, SHW, 0, NULL},
    {"SHOW COUNT(*) WARNINGS", LS, SHW, 0, NULL},
    {"SHOW COUNT ( * ) ERRORS", LS, SHW, 0, NULL},
    {"SHOW COUNT(*) TABLES", WR, SHW, 0, NULL},
    {"SHOW COUNT(x) WARNINGS", WR, SHW, 0, NULL},
    {"SHOW PROCESSLIST", WR, SHW, 0, NULL},
    {"SHOW FULL PROCESSLIST", WR, SHW, 0, NULL},
    {"SHOW MASTER STATUS", WR, SHW, 0, NULL},
    {"SHOW BINLOG STATUS", WR, SHW, 0, NULL},
    {"SHOW BINARY LOGS", WR, SHW, 0, NULL},
    {"SHOW BINLOG EVENTS IN 'mysql-bin.000001'", WR, SHW, 0, NULL},
    {"SHOW SLAVE STATUS", WR, SHW, 0, NULL},
    {"SHOW REPLICA STATUS", WR, SHW, 0, NULL},
    {"SHOW ALL SLAVES STATUS", WR, SHW, 0, NULL},
    {"SHOW TABLES WHERE Tables_in_db = @x", WR, SHW, 0, NULL},
    /* DESCRIBE, EXPLAIN, ANALYZE, HELP */
    {"DESCRIBE t", RD, OTH, 0, NULL},
    {"DESC db.t", RD, OTH, 0, NULL},
    {"EXPLAIN SELECT * FROM t", RD, OTH, 0, NULL},
    {"EXPLAIN FORMAT=JSON SELECT 1", RD, OTH, 0, NULL},
    {"EXPLAIN EXTENDED SELECT 1", RD, OTH, 0, NULL},
    {"EXPLAIN UPDATE t SET a = 1", RD, OTH, 0, NULL}, /* not run */
    {"EXPLAIN FOR CONNECTION 42", WR, OTH, 0, NULL},
    {"EXPLAIN ANALYZE SELECT * FROM t", RD, SEL, 0, NULL},
    {"EXPLAIN ANALYZE FORMAT=TREE SELECT 1", RD, SEL, 0, NULL},
    {"EXPLAIN ANALYZE UPDATE t SET a = 1", WR, UPD, 0, NULL},
    {"EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE", WR, SEL, 0, NULL},
    {"ANALYZE SELECT * FROM t", RD, SEL, 0, NULL},
    {"ANALYZE FORMAT=JSON SELECT 1", RD, SEL, 0, NULL},
    {"ANALYZE DELETE FROM t", WR, DEL, 0, NULL},
    {"ANALYZE TABLE t", WR, OTH, 0, NULL},
    {"ANALYZE NO_WRITE_TO_BINLOG TABLE t", WR, OTH, 0, NULL},
    {"HELP 'SELECT'", RD, OTH, 0, NULL},
    /* transactions */
    {"BEGIN", WR, TXN, TB, NULL},
    {"begin work", WR, TXN, TB, NULL},
    {"START TRANSACTION", WR, TXN, TB, NULL},
    {"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", WR, TXN, TB, NULL},
    {"COMMIT", WR, TXN, TE, NULL},
    {"commit work and chain", WR, TXN, TE | TB, NULL},
    {"COMMIT AND NO CHAIN NO RELEASE", WR, TXN, TE, NULL},
    {"ROLLBACK", WR, TXN, TE, NULL},
    {"ROLLBACK WORK", WR, TXN, TE, NULL},
    {"ROLLBACK TO SAVEPOINT sp1", WR, TXN, 0, NULL},
    {"ROLLBACK WORK TO sp1", WR, TXN, 0, NULL},
    {"SAVEPOINT sp1", WR, TXN, 0, NULL},
    {"RELEASE SAVEPOINT sp1", WR, TXN, 0, NULL},
    {"XA START 'x1'", WR, TXN, TB, NULL},
    {"XA BEGIN 'x1'", WR, TXN, TB, NULL},
    {"XA END 'x1'", WR, TXN, 0, NULL},
    {"XA PREPARE 'x1'", WR, TXN, 0, NULL},
    {"XA COMMIT 'x1'", WR, TXN, TE, NULL},
    {"XA ROLLBACK 'x1'", WR, TXN, TE, NULL},
    {"START SLAVE", WR, OTH, 0, NULL},
    /* SET: what drivers and frameworks send */
    {"SET NAMES utf8mb4", WR, SET, SS, "names"},
    {"SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'", WR, SET, SS, "names"},
    {"set names default", WR, SET, SS, "names"},
    {"SET CHARACTER SET utf8", WR, SET, SS, "character set"},
    {"SET CHARSET 'latin1'", WR, SET, SS, "character set"},
    {"SET AUTOCOMMIT = 0", WR, SET, AC, "0"},
    {"set autocommit=1", WR, SET, AC, "1"},
    {"SET autocommit = ON", WR, SET, AC, "1"},
    {"SET @@session.autocommit = OFF", WR, SET, AC, "0"},
    {"SET SESSION autocommit = TRUE", WR, SET, AC, "1"},
    {"SET autocommit = 'OFF'", WR, SET, AC, "0"},
    {"SET autocommit = 2", WR, SET, PIN, NULL},
    {"SET autocommit = 0, sql_mode = ''", WR, SET, PIN, NULL},
    {"SET GLOBAL autocommit = 0", WR, SET, 0, NULL},
    {"SET sql_mode = 'STRICT_ALL_TABLES'", WR, SET, SS, "sql_mode"},
    {"SET SESSION sql_mode := 'ANSI'", WR, SET, SS, "sql_mode"},
    {"SET @@SESSION.time_zone = '+00:00'", WR, SET, SS, "time_zone"},
    {"SET @@local.Foreign_Key_Checks = 0", WR, SET, SS, "foreign_key_checks"},
    {"SET @@unique_checks = 0", WR, SET, SS, "unique_checks"},
    {"SET LOCAL wait_timeout = 60", WR, SET, SS, "wait_timeout"},
    {"SET `sql_mode` = ''", WR, SET, SS, "sql_mode"},
    {"SET character_set_results = NULL", WR, SET, SS, "character_set_results"},
    {"SET SQL_SELECT_LIMIT=DEFAULT", WR, SET, SS, "sql_select_limit"},
    {"SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", WR, SET, SS, "sql_mode"},
    {"SET sql_mode = CONCAT('a', 'b'), time_zone = 'UTC'", WR, SET, SS, ""},
    {"SET NAMES utf8mb4, sql_mode = ''", WR, SET, SS, ""},
    {"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", WR, SET, SS, "transaction"},
    {"SET SESSION TRANSACTION READ ONLY", WR, SET, SS, "transaction"},
    {"SET @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'), "
     "@@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483",
     WR, SET, SS, ""},
    /* SET: next transaction only, global, accounts */
    {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", WR, SET, 0, NULL},
    {"SET GLOBAL TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE", WR, SET, 0, NULL},
    {"SET GLOBAL max_connections = 500", WR, SET, 0, NULL},
    {"SET @@global.max_connections = 500, GLOBAL wait_timeout = 10", WR, SET, 0, NULL},
    {"SET GLOBAL a = 1, b = 2", WR, SET, 0, NULL}, /* the scope keyword holds for what follows */
    {"SET PERSIST max_connections = 500", WR, SET, 0, NULL},
    {"SET PASSWORD = PASSWORD('x')", WR, SET, 0, NULL},
    {"SET PASSWORD FOR 'app'@'%' = 'x'", WR, SET, 0, NULL},
    {"SET ROLE admin", WR, SET, 0, NULL},
    {"SET DEFAULT ROLE admin FOR 'app'@'%'", WR, SET, 0, NULL},
    /* SET: pinned, because replay would be wrong or the shape is unknown */
    {"SET GLOBAL max_connections = 500, SESSION sql_mode = ''", WR, SET, PIN, NULL},
    {"SET SESSION sql_mode = '', @@global.x = 1", WR, SET, PIN, NULL},
    {"SET @x = 1", WR, SET, PIN, NULL},
    {"SET sql_mode = '', @x = 1", WR, SET, PIN, NULL},
    {"SET @x := (SELECT COUNT(*) FROM t)", WR, SET, PIN, NULL},
    {"SET sql_log_bin = 0", WR, SET, PIN, NULL},
    {"SET SESSION sql_log_bin=1", WR, SET, PIN, NULL},
    {"SET insert_id = 5", WR, SET, PIN, NULL},
    {"SET sql_mode = @old_sql_mode", WR, SET, PIN, NULL},
    {"SET time_zone = (SELECT tz FROM cfg)", WR, SET, PIN, NULL},
    {"SET max_statement_time = ?", WR, SET, PIN, NULL},
    {"SET sql_mode = CONNECTION_ID()", WR, SET, PIN, NULL},
    {"SET a_variable_name_that_is_long_but_still_fits_in_the_key_field_xy = 1", WR, SET, SS,
     "a_variable_name_that_is_long_but_still_fits_in_the_key_field_xy"},
    {"SET sql_mode = db.f()", WR, SET, PIN, NULL},
    {"SET SESSION TRANSACTION ISOLATION LEVEL SOMETIMES", WR, SET, PIN, NULL},
    {"SET NAMES utf8mb4, autocommit = 1", WR, SET, PIN, NULL},
    {"SET SESSION TRANSACTION ISOLATION READ COMMITTED", WR, SET, PIN, NULL},
    {"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE WRITE", WR, SET, PIN, NULL},
    {"SET SESSION TRANSACTION READ SOMETIMES", WR, SET, PIN, NULL},
    {"SET SESSION TRANSACTION READ ONLY READ WRITE", WR, SET, PIN, NULL},
    {"SET SESSION TRANSACTION", WR, SET, PIN, NULL},
    {"SET autocommit = (1)", WR, SET, PIN, NULL},
    {"SET CHARACTER utf8", WR, SET, PIN, NULL},
    {"SET NAMES utf8 COLLATE ?", WR, SET, PIN, NULL},
    {"SET", WR, SET, PIN, NULL},
    {"SET sql_mode", WR, SET, PIN, NULL},
    {"SET sql_mode = ", WR, SET, PIN, NULL},
    {"SET sql_mode = (1", WR, SET, PIN, NULL},
    {"SET sql_mode = 1)", WR, SET, PIN, NULL},
    {"SET NAMES", WR, SET, PIN, NULL},
    {"SET default.key_buffer_size = 1", WR, SET, PIN, NULL},
    {"SET @@default.key_buffer_size = 1", WR, SET, PIN, NULL},
    {"SET a_variable_name_that_is_far_too_long_to_be_a_real_one_at_all_xx_64 = 1", WR, SET, PIN, NULL},
    /* SET STATEMENT ... FOR: the settings last one statement */
    {"SET STATEMENT max_statement_time=1 FOR SELECT * FROM t", RD, SEL, 0, NULL},
    {"SET STATEMENT sql_mode='', foreign_key_checks=0 FOR UPDATE t SET a = 1", WR, UPD, 0, NULL},
    {"SET STATEMENT max_statement_time = @x FOR SELECT 1", WR, SEL, 0, NULL},
    {"SET STATEMENT a = (1, 2) FOR SELECT 1 FOR UPDATE", WR, SEL, 0, NULL},
    {"SET STATEMENT a = 1", WR, SET, PIN, NULL},
    /* USE */
    {"USE shop", WR, OTH, USE, "shop"},
    {"use `my db`", WR, OTH, USE, "my db"},
    {"USE `we``ird`", WR, OTH, USE, "we`ird"},
    {"USE shop;", WR, OTH, USE, "shop"},
    {"USE caf\xC3\xA9", WR, OTH, USE, "caf\xC3\xA9"},
    {"USE", WR, OTH, PIN, NULL},
    {"USE a b", WR, OTH, PIN, NULL},
    {"USE ``", WR, OTH, PIN, NULL},
    {"USE 'shop'", WR, OTH, PIN, NULL},
    /* statements that pin the session, or leave a lock */
    {"LOCK TABLES t READ", WR, OTH, PIN, NULL},
    {"lock table t write, u read", WR, OTH, PIN, NULL},
    {"UNLOCK TABLES", WR, OTH, UNL, NULL},
    {"FLUSH TABLES WITH READ LOCK", WR, OTH, PIN, NULL},
    {"FLUSH TABLES t1, t2 WITH READ LOCK", WR, OTH, PIN, NULL},
    {"FLUSH TABLES t FOR EXPORT", WR, OTH, PIN, NULL},
    {"FLUSH PRIVILEGES", WR, OTH, 0, NULL},
    {"CREATE TEMPORARY TABLE tmp (id INT)", WR, DDL, PIN, NULL},
    {"CREATE OR REPLACE TEMPORARY TABLE tmp SELECT 1", WR, DDL, PIN, NULL},
    {"CREATE TABLE t (id INT)", WR, DDL, 0, NULL},
    {"DROP TEMPORARY TABLE tmp", WR, DDL, 0, NULL},
    {"PREPARE s FROM 'SELECT 1'", WR, OTH, PIN, NULL},
    {"EXECUTE s USING @a", WR, OTH, 0, NULL},
    {"DEALLOCATE PREPARE s", WR, OTH, 0, NULL},
    {"EXECUTE IMMEDIATE 'SET @a = 1'", WR, OTH, PIN, NULL},
    {"HANDLER t OPEN", WR, OTH, PIN, NULL},
    {"HANDLER t READ FIRST", WR, OTH, 0, NULL},
    {"DO GET_LOCK('x', 0)", WR, OTH, PIN, NULL},
    {"INSERT INTO t VALUES (GET_LOCK('x', 0))", WR, INS, PIN, NULL},
    {"UPDATE t SET a = (@n := @n + 1)", WR, UPD, PIN, NULL},
    {"BACKUP STAGE START", WR, OTH, PIN, NULL},
    {"BEGIN NOT ATOMIC SELECT 1; END", WR, OTH, MUL | PIN, NULL},
    {"IF 1 THEN SELECT 1; END IF", WR, OTH, MUL | PIN, NULL},
    {"lbl: LOOP LEAVE lbl; END LOOP", WR, OTH, MUL | PIN, NULL},
    /* LOAD DATA */
    {"LOAD DATA LOCAL INFILE '/tmp/x' INTO TABLE t", WR, OTH, LI, NULL},
    {"LOAD DATA LOW_PRIORITY LOCAL INFILE 'x' INTO TABLE t", WR, OTH, LI, NULL},
    {"load xml local infile 'x.xml' into table t", WR, OTH, LI, NULL},
    {"LOAD DATA INFILE '/tmp/LOCAL' INTO TABLE t (@a) SET b = @a", WR, OTH, 0, NULL},
    {"LOAD INDEX INTO CACHE t", WR, OTH, 0, NULL},
    /* everything else writes */
    {"UPDATE sbtest1 SET k=k+1 WHERE id=?", WR, UPD, 0, NULL},
    {"UPDATE sbtest1 SET c=? WHERE id=?", WR, UPD, 0, NULL},
    {"INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", WR, INS, 0, NULL},
    {"DELETE FROM sbtest1 WHERE id=?", WR, DEL, 0, NULL},
    {"INSERT INTO t SELECT * FROM u FOR UPDATE", WR, INS, 0, NULL},
    {"REPLACE INTO t VALUES (1)", WR, INS, 0, NULL},
    {"WITH c AS (SELECT id FROM t) UPDATE t JOIN c USING (id) SET t.v = 1", WR, UPD, 0, NULL},
    {"WITH c AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM c)", WR, DEL, 0, NULL},
    {"ALTER TABLE t ADD c INT", WR, DDL, 0, NULL},
    {"TRUNCATE TABLE t", WR, DDL, 0, NULL},
    {"RENAME TABLE a TO b", WR, DDL, 0, NULL},
    {"DROP TABLE t", WR, DDL, 0, NULL},
    {"CALL p()", WR, OTH, 0, NULL},
    {"DO 1", WR, OTH, 0, NULL},
    {"KILL 42", WR, OTH, 0, NULL},
    {"GRANT SELECT ON *.* TO 'a'@'%'", WR, OTH, 0, NULL},
    {"OPTIMIZE TABLE t", WR, OTH, 0, NULL},
    {"frobnicate the widgets", WR, OTH, 0, NULL},
    {"(1)", WR, OTH, 0, NULL},
    {"(SHOW TABLES)", WR, OTH, 0, NULL},
    {"WITH c AS (SELECT 1)) SELECT 1", RD, SEL, 0, NULL}, /* the server rejects it, wherever it goes */
    {"GET DIAGNOSTICS @n = NUMBER", LS, OTH, 0, NULL},
    {"GET CURRENT DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT", LS, OTH, 0, NULL},
    {"", WR, OTH, 0, NULL},
    {"   \n\t ", WR, OTH, 0, NULL},
    {"/* only a comment */", WR, OTH, 0, NULL},
    {"-- just a comment", WR, OTH, 0, NULL},
    {";", WR, OTH, 0, NULL},
    /* unterminated text never reaches the read side */
    {"SELECT 'abc", WR, SEL, 0, NULL},
    {"SELECT \"abc", WR, SEL, 0, NULL},
    {"SELECT `abc", WR, SEL, 0, NULL},
    {"SELECT 1 /* unterminated", WR, SEL, 0, NULL},
    {"/*!40101 SELECT 1", WR, SEL, 0, NULL},
    {"SELECT @'abc", WR, SEL, 0, NULL},
    {"SELECT 'a\\", WR, SEL, 0, NULL},
    {"SELECT @@", WR, SEL, 0, NULL},
    {"SET NAMES 'utf8", WR, SET, PIN, NULL},
    {"USE `shop", WR, OTH, PIN, NULL},
    /* several statements */
    {"SELECT 1; SELECT 2", WR, SEL, MUL, NULL},
    {"SELECT 1;;", WR, SEL, MUL, NULL},
    {";SELECT 1", WR, OTH, MUL, NULL},
    {"INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID()", WR, INS, MUL, NULL},
    {"SET NAMES utf8; SELECT 1", WR, SET, MUL | PIN, NULL},
    {"SELECT 1; USE shop", WR, SEL, MUL | PIN, NULL},
    {"SELECT 1; SET autocommit = 0", WR, SEL, MUL | PIN, NULL},
    {"SELECT 1; LOCK TABLES t READ", WR, SEL, MUL | PIN, NULL},
    {"BEGIN; INSERT INTO t VALUES (1); COMMIT", WR, TXN, MUL | TE, NULL},
    {"INSERT INTO t VALUES (1); BEGIN", WR, INS, MUL | TB, NULL},
    {"SELECT 1; LOAD DATA LOCAL INFILE 'x' INTO TABLE t", WR, SEL, MUL | LI, NULL},
    {"LOCK TABLES t WRITE; UNLOCK TABLES", WR, OTH, MUL | PIN | UNL, NULL},
    {"/*!40101 SET a=1; SET b=2 */", WR, SET, MUL | PIN, NULL},
    /* backslashes: the server's default reading, unless the reading
     * without backslash escapes (NO_BACKSLASH_ESCAPES) could run and
     * routes elsewhere */
    {"SELECT 'O\\'Brien' FROM t", RD, SEL, 0, NULL},
    {"SELECT 'a\\' FOR UPDATE'", RD, SEL, 0, NULL},
    {"SELECT 'a\\' FOR UPDATE -- '", WR, SEL, 0, NULL},
    {"SELECT \"a\\\" FOR UPDATE -- \"", WR, SEL, 0, NULL},
    {"SELECT 'a\\'; DELETE FROM t; -- '", WR, SEL, 0, NULL},
    {"SET NAMES 'x\\'; SET @a = 1; -- '", WR, SET, PIN, NULL},
    {"SET sql_mode = 'a\\', time_zone = \\''", WR, SET, PIN, NULL}, /* one variable, or two */
    {"SET sql_mode = 'a\\\\b'", WR, SET, SS, "sql_mode"},           /* the same either way */
    {"INSERT INTO t VALUES ('a\\';')", WR, INS, 0, NULL},
    {"SELECT `a\\` FROM t", RD, SEL, 0, NULL},
};

/* What classify.h promises of every answer. */
static bool invariants_hold(const classify_result *r)
{
    const unsigned all = PIN | SS | USE | MUL | LI | AC | TB | TE | UNL;
    unsigned excl = r->flags & (PIN | SS | USE | AC);
    return (r->route == RD || r->route == WR || r->route == LS) && r->kind >= SEL && r->kind <= OTH &&
           (r->flags & ~all) == 0 && (r->route == WR || r->flags == 0) && (excl & (excl - 1)) == 0 &&
           (!(r->flags & MUL) || r->route == WR) && memchr(r->key, '\0', sizeof r->key) &&
           memchr(r->name, '\0', sizeof r->name) && ((r->flags & SS) || r->key[0] == '\0') &&
           ((r->flags & USE) ? r->name[0] != '\0' : r->name[0] == '\0') &&
           ((r->flags & AC) ? (r->autocommit == 0 || r->autocommit == 1) : r->autocommit == 0);
}

static void check_invariants(const classify_result *r, const char *sql, size_t n)
{
    bool ok = invariants_hold(r);
    CU_ASSERT(ok);
    if (!ok) {
        fprintf(stderr, "\n  invariant broken by %zu bytes:", n);
        for (size_t i = 0; i < n && i < 64; i++)
            fprintf(stderr, " %02x", (unsigned char)sql[i]);
        fprintf(stderr, "\n");
    }
}

static const char *flag_names(unsigned f, char *buf, size_t cap)
{
    static const char *const names[] = {"PIN", "SESSION_SET", "USE",     "MULTI", "LOCAL_INFILE",
                                        "AUTOCOMMIT", "TXN_BEGIN", "TXN_END", "UNLOCK"};
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & (1u << i))
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "|" : "", names[i]);
    return buf[0] ? buf : "0";
}

static void check_case(const cls_case *c)
{
    size_t n = strlen(c->sql);
    char *copy = malloc(n ? n : 1); /* exactly the text: valgrind sees a read past it */
    memcpy(copy, c->sql, n);
    classify_result r;
    memset(&r, 0x5a, sizeof r); /* every field must be written */
    classify_statement(copy, n, &r);
    free(copy);
    check_invariants(&r, c->sql, n);
    bool ok = r.route == c->route && r.kind == c->kind && r.flags == c->flags;
    if (c->flags & SS)
        ok = ok && strcmp(r.key, c->str) == 0;
    if (c->flags & USE)
        ok = ok && strcmp(r.name, c->str) == 0;
    if (c->flags & AC)
        ok = ok && r.autocommit == atoi(c->str);
    CU_ASSERT(ok);
    if (!ok) {
        char got[128], want[128];
        fprintf(stderr, "\n  %.100s\n    got  %s %s %s key=\"%s\" name=\"%s\" autocommit=%d\n    want %s %s %s %s\n",
                c->sql, classify_route_name(r.route), classify_kind_name(r.kind),
                flag_names(r.flags, got, sizeof got), r.key, r.name, r.autocommit, classify_route_name(c->route),
                classify_kind_name(c->kind), flag_names(c->flags, want, sizeof want), c->str ? c->str : "");
    }
}

static void test_classify_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

static classify_result classify_n(const char *sql, size_t n)
{
    classify_result r;
    classify_statement(sql, n, &r);
    check_invariants(&r, sql, n);
    return r;
}

/* Only the given bytes count: what follows them is never read. */
static void test_classify_length(void)
{
    const char *sql = "SELECT 1 FOR UPDATE";
    CU_ASSERT_EQUAL(classify_n(sql, strlen("SELECT 1")).route, RD);
    CU_ASSERT_EQUAL(classify_n(sql, strlen(sql)).route, WR);
    sql = "SELECT 1; DELETE FROM t";
    CU_ASSERT_EQUAL(classify_n(sql, strlen("SELECT 1;")).flags, 0);
    CU_ASSERT_EQUAL(classify_n(sql, strlen(sql)).flags, MUL);
    sql = "USE shopping";
    classify_result r = classify_n(sql, strlen("USE shop"));
    CU_ASSERT_STRING_EQUAL(r.name, "shop");
    sql = "SELECT 'abc' FROM t";
    CU_ASSERT_EQUAL(classify_n(sql, strlen("SELECT 'ab")).route, WR); /* the string is cut: unterminated */
    r = classify_n(NULL, 0);
    CU_ASSERT_EQUAL(r.route, WR);
    CU_ASSERT_EQUAL(r.kind, OTH);
}

/* NUL bytes: inside a string they are data; outside, the server stops or
 * fails there, so the text never goes to the read side. */
static void test_classify_nul(void)
{
    static const char in_string[] = "SELECT 'a\0b', `c\0d` FROM t";
    CU_ASSERT_EQUAL(classify_n(in_string, sizeof in_string - 1).route, RD);
    static const char outside[] = "SELECT 1\0 FROM t";
    CU_ASSERT_EQUAL(classify_n(outside, sizeof outside - 1).route, WR);
    static const char in_set[] = "SET NAMES utf8\0";
    CU_ASSERT_EQUAL(classify_n(in_set, sizeof in_set - 1).flags, PIN);
    static const char in_use[] = "USE `a\0b`";
    CU_ASSERT_EQUAL(classify_n(in_use, sizeof in_use - 1).flags, PIN); /* a C string would name "a" */
    static const char in_key[] = "SET `sql\0mode` = 1";
    CU_ASSERT_EQUAL(classify_n(in_key, sizeof in_key - 1).flags, PIN);
    static const char bytes[] = "SELECT '\xFF\xFE\x01' FROM \x80\x81";
    CU_ASSERT_EQUAL(classify_n(bytes, sizeof bytes - 1).route, RD);
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail, size_t *len)
{
    size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
    *len = h + u * times + t;
    char *s = malloc(*len), *p = s;
    memcpy(p, head, h);
    p += h;
    for (size_t i = 0; i < times; i++, p += u)
        memcpy(p, unit, u);
    memcpy(p, tail, t);
    return s;
}

/* Long text: linear time, no stack that grows with nesting. */
static void test_classify_long(void)
{
    size_t n;
    char *s = repeat("SELECT 1", " + 1", 250000, "", &n);
    CU_ASSERT_EQUAL(classify_n(s, n).route, RD);
    free(s);
    s = repeat("SELECT 1", " + 1", 250000, " FOR UPDATE", &n);
    CU_ASSERT_EQUAL(classify_n(s, n).route, WR);
    free(s);
    s = repeat("", "(", 200000, "SELECT 1", &n);
    classify_result r = classify_n(s, n);
    CU_ASSERT_EQUAL(r.route, RD);
    CU_ASSERT_EQUAL(r.kind, SEL);
    free(s);
    s = repeat("SELECT ", "(", 200000, "1", &n); /* never closed: the server rejects it */
    CU_ASSERT_EQUAL(classify_n(s, n).route, RD);
    free(s);
    s = repeat("", "SET STATEMENT a=1 FOR ", 50000, "SELECT 1", &n);
    r = classify_n(s, n);
    CU_ASSERT_EQUAL(r.route, RD);
    CU_ASSERT_EQUAL(r.kind, SEL);
    free(s);
    s = repeat("", "EXPLAIN ANALYZE ", 50000, "DELETE FROM t", &n);
    r = classify_n(s, n);
    CU_ASSERT_EQUAL(r.route, WR);
    CU_ASSERT_EQUAL(r.kind, DEL);
    free(s);
    s = repeat("SELECT '", "x", 1 << 20, "' FROM t", &n);
    CU_ASSERT_EQUAL(classify_n(s, n).route, RD);
    free(s);
    s = repeat("SELECT 1 /*", " FOR UPDATE ", 100000, "*/", &n);
    CU_ASSERT_EQUAL(classify_n(s, n).route, RD);
    free(s);
    s = repeat("", "/*!", 100000, "SELECT 1", &n); /* executable comments never closed */
    CU_ASSERT_EQUAL(classify_n(s, n).route, WR);
    free(s);
    s = repeat("SELECT 1", "; SELECT 1", 50000, "", &n);
    r = classify_n(s, n);
    CU_ASSERT_EQUAL(r.flags, MUL);
    free(s);
    s = repeat("SET sql_mode = ''", ", time_zone = 'UTC'", 50000, "", &n);
    r = classify_n(s, n);
    CU_ASSERT_EQUAL(r.flags, SS);
    CU_ASSERT_STRING_EQUAL(r.key, "");
    free(s);
    s = repeat("SELECT '", "\\'", 100000, "' FROM t", &n); /* two readings, both linear */
    CU_ASSERT_EQUAL(classify_n(s, n).route, RD);
    free(s);
    s = repeat("USE `", "a", 255, "`", &n);
    r = classify_n(s, n);
    CU_ASSERT_EQUAL(r.flags, USE);
    CU_ASSERT_EQUAL(strlen(r.name), 255);
    free(s);
    s = repeat("USE `", "a", 256, "`", &n);
    CU_ASSERT_EQUAL(classify_n(s, n).flags, PIN);
    free(s);
    s = repeat("USE ", "a", 300, "", &n);
    CU_ASSERT_EQUAL(classify_n(s, n).flags, PIN);
    free(s);
}

/* Every text of up to two bytes, from a heap copy of exactly its length. */
static void test_classify_short(void)
{
    char *buf = malloc(2);
    for (unsigned a = 0; a < 256; a++) {
        buf[1] = (char)a;
        classify_result r = classify_n(buf + 1, 1);
        (void)r;
        for (unsigned b = 0; b < 256; b++) {
            buf[0] = (char)a;
            buf[1] = (char)b;
            r = classify_n(buf, 2);
        }
    }
    free(buf);
}

static void test_classify_names(void)
{
    CU_ASSERT_STRING_EQUAL(classify_kind_name(SEL), "select");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(INS), "insert");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(UPD), "update");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(DEL), "delete");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(DDL), "ddl");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(TXN), "txn");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(SET), "set");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(SHW), "show");
    CU_ASSERT_STRING_EQUAL(classify_kind_name(OTH), "other");
    CU_ASSERT_STRING_EQUAL(classify_route_name(RD), "read");
    CU_ASSERT_STRING_EQUAL(classify_route_name(WR), "write");
    CU_ASSERT_STRING_EQUAL(classify_route_name(LS), "last");
}

int suite_classify(void)
{
    CU_pSuite s = CU_add_suite("classify", NULL, NULL);
    if (!s || !CU_add_test(s, "route, kind and flags of each statement", test_classify_table) ||
        !CU_add_test(s, "only the given bytes are read", test_classify_length) ||
        !CU_add_test(s, "NUL bytes", test_classify_nul) ||
        !CU_add_test(s, "very long and deeply nested text", test_classify_long) ||
        !CU_add_test(s, "every text of up to two bytes", test_classify_short) ||
        !CU_add_test(s, "kind and route names", test_classify_names))
        return -1;
    return 0;
}
