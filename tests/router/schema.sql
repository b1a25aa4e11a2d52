-- The table every data-router client (tests/router/run_clients.sh) writes,
-- created in the clients' database DB before they run. They also switch to
-- a second database, DB_b (DB's name with "_b" appended), which must exist
-- and may stay empty.
--   sid: the @@server_id of the server that ran the INSERT, computed there,
--        so a client can tell which server executed its write
--   big: values over 16 MB (the C client with --big)
CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, client VARCHAR(32) NOT NULL, token VARCHAR(64) NOT NULL,
                     sid INT NOT NULL, v INT NOT NULL DEFAULT 0, big LONGBLOB NULL, KEY (token)) ENGINE=InnoDB;
