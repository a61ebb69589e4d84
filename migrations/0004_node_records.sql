-- What each node run applied (issue "A cluster across hosts"): the one view of a cluster whose nodes live on
-- hosts of their own, read by `eidb verify` on a machine that holds none of the nodes' EI_HOMEs.
--
-- A node run writes its row with the account the nodes use (not the admin), and may write only its own
-- rows. MySQL has no row-level privileges, so: the account is granted SELECT, INSERT and UPDATE on
-- eidb_node_record alone (by the full provision, src/server/node_records.rs), and two triggers that the
-- admin creates (they run as their definer) refuse a row whose `account` is not the session's own login
-- name, or whose (cluster, account) pair the admin did not enter in eidb_cluster_account, and an update
-- that moves a row to another cluster. The triggers are made outside this migration, by the full
-- provision, so that a server where the admin may not create triggers keeps its ledger working.

CREATE TABLE IF NOT EXISTS eidb_cluster_account (
    cluster      VARCHAR(64)  NOT NULL,
    account      VARCHAR(80)  NOT NULL,
    recorded_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (cluster, account)
) ENGINE InnoDB DEFAULT CHARSET ascii;

CREATE TABLE IF NOT EXISTS eidb_node_record (
    cluster          VARCHAR(64)  NOT NULL,
    node             VARCHAR(64)  NOT NULL,
    -- the login name the row was written with (checked by the triggers)
    account          VARCHAR(80)  NOT NULL,
    -- SHA-256 of the spec file the run used
    spec_digest      CHAR(64)     NOT NULL,
    -- the values eidb owns for the node, as the run wrote them
    local_registry   VARCHAR(64)  NULL,
    cache_id         VARCHAR(1024) NOT NULL,
    shared_registry  VARCHAR(64)  NOT NULL,
    user_store       VARCHAR(64)  NOT NULL,
    -- path -> SHA-256 of each node file after the run, as JSON
    files            TEXT         NOT NULL,
    eidb_version     VARCHAR(32)  NOT NULL,
    recorded_at      DATETIME(6)  NOT NULL,
    PRIMARY KEY (cluster, node)
) ENGINE InnoDB DEFAULT CHARSET utf8mb4;
