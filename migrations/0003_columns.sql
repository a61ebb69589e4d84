-- The columns of the dbscript's tables as a server makes them (the column probe, src/server/columns.rs),
-- kept so that a run against an unchanged server need not make the script's 40 tables again as temporary
-- ones to ask (and so that an account that may not create temporary tables still has the columns checked).
-- A row holds for one script on one server as it was set up when the row was written: `fingerprint` is a
-- SHA-256 of the statements the probe sends and of every session setting that changes how a column is made
-- (version, sql_mode, explicit_defaults_for_timestamp, ...: src/core/sql/columns.rs), beside the charset and
-- collation of the database the tables were made in. A server changed in any of these gives another
-- fingerprint, and the probe runs again. Rows are only added: nothing reads a row of another fingerprint.
CREATE TABLE IF NOT EXISTS eidb_columns (
    fingerprint    CHAR(64)    NOT NULL,
    charset_name   VARCHAR(64) NOT NULL,
    collation_name VARCHAR(64) NOT NULL,
    -- table key -> [the table's name, its columns], as JSON
    columns        MEDIUMTEXT  CHARACTER SET utf8mb4 NOT NULL,
    recorded_at    DATETIME(6) NOT NULL,
    eidb_version   VARCHAR(32) NOT NULL,
    PRIMARY KEY (fingerprint, charset_name, collation_name)
) ENGINE InnoDB DEFAULT CHARSET ascii;
