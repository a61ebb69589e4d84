//! The SQL eidb reasons about, as text: quoting identifiers and strings, splitting and classifying a
//! dbscript's statements, index key sizes per charset, and folding an empty database's indexes into its
//! `CREATE TABLE`s. Pure: the server side sends what is built here.

pub mod columns;
pub mod fold;
pub mod keylen;
pub mod quote;
pub mod script;
