-- What exists now, for the plan: every database eidb manages, what each holds, and the account, in one
-- round trip. eidb fills in {databases} (a quoted list) and {user} (a quoted literal).
-- Every column is converted to utf8mb4 so the UNION has one type whatever information_schema uses
-- (utf8mb3 on MySQL 8, where sqlx would otherwise see VARBINARY).
SELECT 'db' AS k, CONVERT(SCHEMA_NAME USING utf8mb4) AS s, '' AS t, '' AS n,
       CONVERT(CONCAT(DEFAULT_CHARACTER_SET_NAME, '/', DEFAULT_COLLATION_NAME) USING utf8mb4) AS x
  FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({databases})
UNION ALL
SELECT 'table', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(TABLE_TYPE USING utf8mb4),
       CONVERT(CONCAT(IFNULL(ENGINE, ''), '/', IFNULL(TABLE_COLLATION, '')) USING utf8mb4)
  FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({databases})
UNION ALL
-- An index with what makes it the index it is: unique or not, and its columns in order ('0:A,B').
SELECT 'index', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(INDEX_NAME USING utf8mb4),
       CONVERT(CONCAT(MIN(NON_UNIQUE), ':', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ',')) USING utf8mb4)
  FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({databases})
  GROUP BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME
UNION ALL
SELECT 'constraint', CONVERT(CONSTRAINT_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(CONSTRAINT_NAME USING utf8mb4),
       CONVERT(CONSTRAINT_TYPE USING utf8mb4)
  FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({databases})
UNION ALL
-- A foreign key with what makes it the key it is: its columns and what they reference ('A,B>T(X,Y)').
SELECT 'foreign_key', CONVERT(CONSTRAINT_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(CONSTRAINT_NAME USING utf8mb4),
       CONVERT(CONCAT(GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ','), '>', MIN(REFERENCED_TABLE_NAME), '(',
                      GROUP_CONCAT(REFERENCED_COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ','), ')') USING utf8mb4)
  FROM information_schema.KEY_COLUMN_USAGE
  WHERE CONSTRAINT_SCHEMA IN ({databases}) AND REFERENCED_TABLE_NAME IS NOT NULL
  GROUP BY CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME
UNION ALL
SELECT 'routine', CONVERT(ROUTINE_SCHEMA USING utf8mb4), '', CONVERT(ROUTINE_NAME USING utf8mb4), CONVERT(ROUTINE_TYPE USING utf8mb4)
  FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ({databases})
UNION ALL
SELECT 'trigger', CONVERT(TRIGGER_SCHEMA USING utf8mb4), CONVERT(EVENT_OBJECT_TABLE USING utf8mb4), CONVERT(TRIGGER_NAME USING utf8mb4), ''
  FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ({databases})
UNION ALL
SELECT 'column', CONVERT(TABLE_SCHEMA USING utf8mb4), CONVERT(TABLE_NAME USING utf8mb4), CONVERT(COLUMN_NAME USING utf8mb4),
       CONVERT(CONCAT(IS_NULLABLE, IF(COLUMN_DEFAULT IS NULL, '-', '+'), COLUMN_TYPE, CHAR(10), IFNULL(COLUMN_DEFAULT, '')) USING utf8mb4)
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({databases})
UNION ALL
-- Every row of the account's name, whatever its host (rows the spec no longer names, rows that win over
-- the spec's for some clients), and the anonymous rows ('' matches every user name).
SELECT 'account', CONVERT(User USING utf8mb4), CONVERT(Host USING utf8mb4), CONVERT(plugin USING utf8mb4), ''
  FROM mysql.user WHERE User IN ({user}, '')
