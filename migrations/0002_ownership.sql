-- Which cluster manages which database, and which account rows eidb created (issue "never make a working
-- cluster worse"): grants on another cluster's databases are never taken away, and eidb drops only account
-- rows it created itself.

-- One row per database a cluster manages, recorded the first time eidb provisions it (or adopts it).
CREATE TABLE IF NOT EXISTS eidb_database (
    target_db    VARCHAR(64)  NOT NULL PRIMARY KEY,
    -- the spec's [cluster] name (by default the shared registry database's name)
    cluster      VARCHAR(64)  NOT NULL,
    recorded_at  DATETIME(6)  NOT NULL,
    run_id       BIGINT       NOT NULL
) ENGINE InnoDB DEFAULT CHARSET utf8mb4;

-- Account rows eidb created, per cluster. ASCII: names and hosts are validated to ASCII, and the key
-- stays under the 767-byte index limit of older servers.
CREATE TABLE IF NOT EXISTS eidb_account (
    cluster      VARCHAR(64)  NOT NULL,
    user_name    VARCHAR(80)  NOT NULL,
    host         VARCHAR(255) NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    run_id       BIGINT       NOT NULL,
    PRIMARY KEY (cluster, user_name, host)
) ENGINE InnoDB DEFAULT CHARSET ascii;

-- Which local registry database each node of a cluster uses, recorded the first time eidb assigns it:
-- reordering, renaming or removing nodes in the spec never points a node at another node's database.
CREATE TABLE IF NOT EXISTS eidb_node (
    cluster      VARCHAR(64)  NOT NULL,
    node         VARCHAR(64)  NOT NULL,
    target_db    VARCHAR(64)  NOT NULL,
    recorded_at  DATETIME(6)  NOT NULL,
    run_id       BIGINT       NOT NULL,
    PRIMARY KEY (cluster, node)
) ENGINE InnoDB DEFAULT CHARSET ascii;
