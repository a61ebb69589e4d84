-- eidb's own bookkeeping, in the metadata database (databases.metadata in the spec, default EIDB_META).
-- Applied by sqlx's migrator, which records a checksum of this file in _sqlx_migrations.

-- One row per eidb run that changed something.
CREATE TABLE IF NOT EXISTS eidb_run (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    eidb_version  VARCHAR(32)  NOT NULL,
    started_at    DATETIME(6)  NOT NULL,
    finished_at   DATETIME(6)  NULL,
    -- running | succeeded | failed | interrupted
    outcome       VARCHAR(16)  NOT NULL,
    -- who ran it: host, process id and the MySQL connection id of the run
    owner         VARCHAR(255) NOT NULL,
    error         TEXT         NULL
) ENGINE InnoDB DEFAULT CHARSET utf8mb4;

-- The dbscript applied to each target database: which file, its SHA-256, how far it got.
CREATE TABLE IF NOT EXISTS eidb_script (
    target_db        VARCHAR(64)  NOT NULL PRIMARY KEY,
    script_name      VARCHAR(255) NOT NULL,
    script_sha256    CHAR(64)     NOT NULL,
    statements_total INT          NOT NULL,
    -- statements known to have completed, in script order (objects that exist are re-checked on resume)
    statements_done  INT          NOT NULL,
    -- running | completed | failed
    outcome          VARCHAR(16)  NOT NULL,
    started_at       DATETIME(6)  NOT NULL,
    finished_at      DATETIME(6)  NULL,
    run_id           BIGINT       NOT NULL,
    eidb_version     VARCHAR(32)  NOT NULL,
    error            TEXT         NULL
) ENGINE InnoDB DEFAULT CHARSET utf8mb4;

-- The run lock: a row, not GET_LOCK, so that it replicates (Galera) and names its holder.
CREATE TABLE IF NOT EXISTS eidb_lock (
    name        VARCHAR(128) NOT NULL PRIMARY KEY,
    owner       VARCHAR(255) NOT NULL,
    acquired_at DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL
) ENGINE InnoDB DEFAULT CHARSET utf8mb4;
