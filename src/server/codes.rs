//! The server's error numbers: the lowest part of the server layer, which connecting, retrying and every
//! reader use to tell one refusal from another (and which depends on none of them).

/// The MySQL error number of a server error.
pub fn mysql_code(e: &sqlx::Error) -> Option<u16> {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(|m| m.number()),
        _ => None,
    }
}
