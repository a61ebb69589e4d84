-- What exists now, for the plan: every database eidb manages, what each holds, and the account, in two
-- round trips (one statement per source, sent together; each row starts with its kind). eidb fills in
-- {databases} (a quoted list), {database} (one quoted name) and {user} (a quoted literal).
-- Every column is converted to utf8mb4 so that all decode alike whatever information_schema uses
-- (utf8mb3 on MySQL 8, where sqlx may otherwise see VARBINARY).
-- The first statement, sent alone, lists which of the databases exist (SCHEMATA lists the server's
-- database folders, not their tables); then each statement with a {database} placeholder is sent once per
-- database found, with the name as the server spells it. One `=` per statement, not one `IN (...)`:
-- MariaDB looks a database up by name only for `TABLE_SCHEMA = 'X'` (EXPLAIN: "Scanned 1 database"); for
-- an IN list it lists every table of every database on the server and filters the names ("Scanned all
-- databases"), which on a server shared with other applications costs more than the cluster's own tables.
-- MySQL 8 reads these views from its data dictionary through the schema name's index either way.
-- Each filter is on the column the server looks tables up by (TABLE_SCHEMA, EVENT_OBJECT_SCHEMA), so it
-- opens only the tables of these databases. Nothing is grouped or sorted here: on MariaDB a GROUP BY over
-- information_schema costs more than the rows it saves, so eidb assembles indexes and keys itself.
SELECT 'db' AS k, CONVERT(SCHEMA_NAME USING utf8mb4) AS s, '' AS t, '' AS n,
       CONVERT(CONCAT(DEFAULT_CHARACTER_SET_NAME, '/', DEFAULT_COLLATION_NAME) USING utf8mb4) AS x
  FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({databases});
SELECT 'table', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(TABLE_TYPE USING utf8mb4),
       CONVERT(CONCAT(IFNULL(ENGINE, ''), '/', IFNULL(TABLE_COLLATION, '')) USING utf8mb4)
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = {database};
SELECT 'routine', CONVERT(ROUTINE_SCHEMA USING utf8mb4), '', CONVERT(ROUTINE_NAME USING utf8mb4), CONVERT(ROUTINE_TYPE USING utf8mb4)
  FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ({databases});
SELECT 'trigger', CONVERT(EVENT_OBJECT_SCHEMA USING utf8mb4), CONVERT(EVENT_OBJECT_TABLE USING utf8mb4), CONVERT(TRIGGER_NAME USING utf8mb4), ''
  FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = {database};
SELECT 'column', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(COLUMN_NAME USING utf8mb4),
       CONVERT(CONCAT(IS_NULLABLE, IF(COLUMN_DEFAULT IS NULL, '-', '+'), COLUMN_TYPE, CHAR(10), IFNULL(COLUMN_DEFAULT, '')) USING utf8mb4)
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {database};
-- The indexes and keys: these statements open every table of the databases; eidb may send them on a
-- second connection, so that the server reads both halves at once.
-- One row per column of an index: unique or not, then the column's place and name.
SELECT 'index', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(INDEX_NAME USING utf8mb4),
       CONVERT(NON_UNIQUE USING utf8mb4), CONVERT(SEQ_IN_INDEX USING utf8mb4), CONVERT(COLUMN_NAME USING utf8mb4)
  FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = {database};
-- Every constraint by name. Without CHECK constraints these are the unique indexes and the foreign keys,
-- which eidb then takes from the rows above and below instead (this statement opens every table again).
SELECT 'constraint', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(CONSTRAINT_NAME USING utf8mb4),
       CONVERT(CONSTRAINT_TYPE USING utf8mb4)
  FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = {database};
-- One row per column of a foreign key: the table it references, the column's place, the column and the
-- column it references.
SELECT 'foreign_key', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(CONSTRAINT_NAME USING utf8mb4),
       CONVERT(REFERENCED_TABLE_NAME USING utf8mb4), CONVERT(ORDINAL_POSITION USING utf8mb4), CONVERT(COLUMN_NAME USING utf8mb4),
       CONVERT(REFERENCED_COLUMN_NAME USING utf8mb4)
  FROM information_schema.KEY_COLUMN_USAGE
  WHERE TABLE_SCHEMA = {database} AND REFERENCED_TABLE_NAME IS NOT NULL;
-- Every row of the account's name, whatever its host (rows the spec no longer names, rows that win over
-- the spec's for some clients), and the anonymous rows ('' matches every user name).
SELECT 'account', CONVERT(User USING utf8mb4), CONVERT(Host USING utf8mb4), CONVERT(plugin USING utf8mb4), ''
  FROM mysql.user WHERE User IN ({user}, '')
