//! One way to run a statement on either backend, on the pool or inside a transaction.
//!
//! Every query function takes `x: impl Into<Exec<'_>>`, so the same function serves a
//! single read on the pool (`f(&db, ..)`) and one step of a multi-statement write
//! (`f(&mut tx, ..)`), and the per-query timeout travels with the executor.
//!
//! Why not sqlx's own `Any` driver: it decodes only integers, floats, text and bytes, so
//! UUIDs and timestamps would have to be stored or parsed as text on PostgreSQL. Here a
//! statement's arguments are kept as typed [`Arg`]s and bound with the driver's own
//! encoding when the backend is known, so both backends keep their native column types
//! and the SQL text (with `$1` placeholders, which both accept) is written once.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use nexus_core::error::AppResult;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{Arguments, AssertSqlSafe, FromRow};
use uuid::Uuid;

use crate::{Backend, Db, DbTx, Pool, Tx, timed};

/// One bound value. `None` inside a variant is a NULL of that type, which PostgreSQL
/// needs to infer the parameter's type.
#[derive(Debug, Clone)]
pub enum Arg {
    Bool(Option<bool>),
    I32(Option<i32>),
    I64(Option<i64>),
    F64(Option<f64>),
    Text(Option<String>),
    Uuid(Option<Uuid>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Json(Option<serde_json::Value>),
    Bytes(Option<Vec<u8>>),
}

/// A value that can be bound to a statement.
pub trait IntoArg {
    fn into_arg(self) -> Arg;
}

macro_rules! into_arg {
    ($variant:ident: $($t:ty => |$v:ident| $e:expr),+ $(,)?) => {$(
        impl IntoArg for $t {
            fn into_arg(self) -> Arg {
                let $v = self;
                Arg::$variant(Some($e))
            }
        }
        impl IntoArg for Option<$t> {
            fn into_arg(self) -> Arg {
                Arg::$variant(self.map(|$v| $e))
            }
        }
    )+};
}

into_arg!(Bool: bool => |v| v);
into_arg!(I32: i32 => |v| v);
into_arg!(I64: i64 => |v| v);
into_arg!(F64: f64 => |v| v);
into_arg!(Text: String => |v| v, &str => |v| v.to_owned(), &String => |v| v.clone());
into_arg!(Uuid: Uuid => |v| v, &Uuid => |v| *v);
into_arg!(Time: DateTime<Utc> => |v| v);
into_arg!(Date: NaiveDate => |v| v);
into_arg!(Json: serde_json::Value => |v| v, Json<serde_json::Value> => |v| v.0, &serde_json::Value => |v| v.clone());
into_arg!(Bytes: Vec<u8> => |v| v, &[u8] => |v| v.to_vec());

/// Domain enums are stored as their lowercase names (see `nexus_core::stored`).
macro_rules! text_enum_arg {
    ($($t:ty),+) => {$(
        impl IntoArg for $t {
            fn into_arg(self) -> Arg {
                Arg::Text(Some(self.as_str().to_owned()))
            }
        }
        impl IntoArg for Option<$t> {
            fn into_arg(self) -> Arg {
                Arg::Text(self.map(|v| v.as_str().to_owned()))
            }
        }
    )+};
}

text_enum_arg!(
    nexus_core::hub::NoteKind,
    nexus_core::hub::NoteStatus,
    nexus_core::hub::ProposalStatus,
    nexus_core::hub::ReportStatus,
    nexus_core::identity::Role,
    nexus_core::identity::Track,
    nexus_core::learning::EnrolmentPolicy,
    nexus_core::learning::CohortRole,
    nexus_core::learning::EnrolmentStatus,
    nexus_core::learning::SubmissionStatus,
    nexus_core::learning::ReviewerRole,
    nexus_core::learning::AssignmentStatus,
    nexus_core::learning::LedgerKind,
    nexus_core::learning::Severity,
    nexus_core::learning::LedgerStatus,
    nexus_core::learning::Visibility,
    nexus_core::learning::CollaborationTrack,
    nexus_core::learning::CollaborationStatus
);

impl IntoArg for Arg {
    fn into_arg(self) -> Arg {
        self
    }
}

/// A statement's arguments given at once, in placeholder order: `(id, now)` binds `$1`
/// and `$2`. A single value is one argument.
pub trait Args {
    fn push_to(self, args: &mut Vec<Arg>);
}

impl<T: IntoArg> Args for T {
    fn push_to(self, args: &mut Vec<Arg>) {
        args.push(self.into_arg());
    }
}

macro_rules! tuple_args {
    ($($v:ident: $t:ident),+) => {
        impl<$($t: IntoArg),+> Args for ($($t,)+) {
            fn push_to(self, args: &mut Vec<Arg>) {
                let ($($v,)+) = self;
                $(args.push($v.into_arg());)+
            }
        }
    };
}

tuple_args!(a: A, b: B);
tuple_args!(a: A, b: B, c: C);
tuple_args!(a: A, b: B, c: C, d: D);
tuple_args!(a: A, b: B, c: C, d: D, e: E);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K, l: L);
tuple_args!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K, l: L, m: M);

/// Which way a keyset page walks its key (see [`Query::page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending: oldest first, for UUIDv7 ids.
    Oldest,
    /// Descending: newest first.
    Newest,
}

/// A statement and its arguments, not yet tied to a backend.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until an executor runs it"]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
    persistent: bool,
}

/// Starts a statement. Placeholders are `$1`, `$2`, … on both backends.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
        persistent: true,
    }
}

/// One row of a multi-row `VALUES` list (see [`Query::values`]).
pub struct Tuple<'q> {
    query: &'q mut Query,
    first: bool,
}

impl Tuple<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.query.push(", ");
        }
        self.first = false;
    }

    /// The next column's value, as a placeholder.
    pub fn bind(&mut self, value: impl IntoArg) -> &mut Self {
        self.separate();
        self.query.push_bind(value);
        self
    }

    /// The next column as SQL text that holds no input (a constant).
    pub fn raw(&mut self, sql: &str) -> &mut Self {
        self.separate();
        self.query.push(sql);
        self
    }

    /// The next column as an expression around one placeholder: `before $n after`.
    pub fn bind_in(&mut self, before: &str, value: impl IntoArg, after: &str) -> &mut Self {
        self.separate();
        self.query.push(before).push_bind(value).push(after);
        self
    }
}

impl Query {
    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl IntoArg) -> Query {
        self.args.push(value.into_arg());
        self
    }

    /// Binds the next placeholders, in order: one value or a tuple of them.
    pub fn args(mut self, values: impl Args) -> Query {
        values.push_to(&mut self.args);
        self
    }

    /// Ends a statement that has a `WHERE` with one page of a list in `key` order:
    /// `limit` rows past the row whose key is `after` (none: from the start). Keyset
    /// paging over a unique, time-ordered key (a UUIDv7 id) stays stable while rows are
    /// added, which an offset would not.
    pub fn page(
        mut self,
        key: &str,
        order: Order,
        after: Option<Uuid>,
        limit: impl Into<i64>,
    ) -> Query {
        let (past, direction) = match order {
            Order::Oldest => (">", ""),
            Order::Newest => ("<", " DESC"),
        };
        if let Some(after) = after {
            self.push(&format!(" AND {key} {past} ")).push_bind(after);
        }
        self.push(&format!(" ORDER BY {key}{direction} LIMIT "))
            .push_bind(limit.into());
        self
    }

    /// Binds every value in order (an `IN (…)` list built with [`crate::placeholders`]).
    pub fn bind_all<T: IntoArg>(mut self, values: impl IntoIterator<Item = T>) -> Query {
        self.args.extend(values.into_iter().map(IntoArg::into_arg));
        self
    }

    /// How many values are bound so far: the number of the next placeholder minus one.
    pub fn bound(&self) -> usize {
        self.args.len()
    }

    /// Appends SQL text. Only constants: input always goes through [`Query::push_bind`].
    pub fn push(&mut self, sql: &str) -> &mut Query {
        self.sql.to_mut().push_str(sql);
        self
    }

    /// Appends the next placeholder (`$n`) and binds `value` to it.
    pub fn push_bind(&mut self, value: impl IntoArg) -> &mut Query {
        self.args.push(value.into_arg());
        let n = self.args.len();
        self.sql.to_mut().push_str(&format!("${n}"));
        self
    }

    /// Appends ` VALUES (…), (…)` with one tuple per row, written by `row`.
    pub fn values<R>(mut self, rows: &[R], mut row: impl FnMut(&mut Tuple<'_>, &R)) -> Query {
        self.push(" VALUES ");
        for (i, r) in rows.iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            let mut tuple = Tuple {
                query: &mut self,
                first: true,
            };
            row(&mut tuple, r);
            self.push(")");
        }
        self
    }

    /// Not kept as a prepared statement, so the planner sees this call's values (a
    /// generic plan cannot tell a rare search word from a common one).
    pub fn unprepared(mut self) -> Query {
        self.persistent = false;
        self
    }

    fn sqlite(self) -> (AssertSqlSafe<Cow<'static, str>>, SqliteArguments, bool) {
        let mut out = SqliteArguments::default();
        for arg in self.args {
            add(&mut out, arg);
        }
        (AssertSqlSafe(self.sql), out, self.persistent)
    }

    fn postgres(self) -> (AssertSqlSafe<Cow<'static, str>>, PgArguments, bool) {
        let mut out = PgArguments::default();
        for arg in self.args {
            add(&mut out, arg);
        }
        (AssertSqlSafe(self.sql), out, self.persistent)
    }
}

/// Adds one argument with the driver's own encoding. Encoding these types cannot fail on
/// either driver (the error path exists for user types), so a failure would be a driver
/// bug; it is recorded by sqlx and surfaces when the statement runs.
fn add<A>(out: &mut A, arg: Arg)
where
    A: Arguments,
    for<'q> Option<bool>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<i32>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<i64>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<f64>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<String>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<Uuid>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<NaiveDate>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<Json<serde_json::Value>>:
        sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
{
    let added = match arg {
        Arg::Bool(v) => out.add(v),
        Arg::I32(v) => out.add(v),
        Arg::I64(v) => out.add(v),
        Arg::F64(v) => out.add(v),
        Arg::Text(v) => out.add(v),
        Arg::Uuid(v) => out.add(v),
        Arg::Time(v) => out.add(v),
        Arg::Date(v) => out.add(v),
        Arg::Json(v) => out.add(v.map(Json)),
        Arg::Bytes(v) => out.add(v),
    };
    if let Err(e) = added {
        tracing::error!(error = %e, "binding a statement argument failed");
    }
}

/// The most bind parameters one statement takes: under SQLite's limit (32,766) and
/// PostgreSQL's (65,535).
const MAX_PARAMS: usize = 30_000;

/// How many rows of `params` parameters each go into one multi-row statement. Capped so
/// that one statement carrying note bodies stays a few megabytes.
pub fn rows_per_statement(params: usize) -> usize {
    (MAX_PARAMS / params.max(1)).clamp(1, 500)
}

/// `$start, $start+1, …` for `n` parameters, for an `IN (…)` list.
pub fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row type that decodes from either backend's rows: every `#[derive(sqlx::FromRow)]`
/// struct and every tuple of types both drivers know.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// Where a statement runs: the pool (each statement on whichever connection is free) or
/// an open transaction. Both carry the query timeout of the [`Db`] they came from.
pub enum Exec<'a> {
    Pool(&'a Db),
    Tx(&'a mut DbTx),
}

impl<'a> From<&'a Db> for Exec<'a> {
    fn from(db: &'a Db) -> Self {
        Exec::Pool(db)
    }
}

impl<'a> From<&'a mut DbTx> for Exec<'a> {
    fn from(tx: &'a mut DbTx) -> Self {
        Exec::Tx(tx)
    }
}

impl<'a, 'b> From<&'a mut Exec<'b>> for Exec<'a> {
    fn from(x: &'a mut Exec<'b>) -> Self {
        match x {
            Exec::Pool(db) => Exec::Pool(db),
            Exec::Tx(tx) => Exec::Tx(tx),
        }
    }
}

/// Runs `$body` with `$c` bound to the executor's connection or pool and `$q` to the
/// query's text and arguments for that backend; the one place that names both drivers.
macro_rules! dispatch {
    ($x:expr, $query:expr, |$q:ident, $c:ident| $body:expr) => {{
        let timeout = $x.timeout();
        $x.statements().count();
        match $x {
            Exec::Pool(db) => match db.pool() {
                Pool::Sqlite($c) => {
                    let (sql, args, persistent) = $query.sqlite();
                    let $q = sqlx::query_with(sql, args).persistent(persistent);
                    timed(timeout, $body).await
                }
                Pool::Postgres($c) => {
                    let (sql, args, persistent) = $query.postgres();
                    let $q = sqlx::query_with(sql, args).persistent(persistent);
                    timed(timeout, $body).await
                }
            },
            Exec::Tx(tx) => match &mut tx.tx {
                Tx::Sqlite(t) => {
                    let $c = &mut **t;
                    let (sql, args, persistent) = $query.sqlite();
                    let $q = sqlx::query_with(sql, args).persistent(persistent);
                    timed(timeout, $body).await
                }
                Tx::Postgres(t) => {
                    let $c = &mut **t;
                    let (sql, args, persistent) = $query.postgres();
                    let $q = sqlx::query_with(sql, args).persistent(persistent);
                    timed(timeout, $body).await
                }
            },
        }
    }};
}

impl Exec<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Exec::Pool(db) => db.backend(),
            Exec::Tx(tx) => match tx.tx {
                Tx::Sqlite(_) => Backend::Sqlite,
                Tx::Postgres(_) => Backend::Postgres,
            },
        }
    }

    fn statements(&self) -> &crate::Statements {
        match self {
            Exec::Pool(db) => &db.statements,
            Exec::Tx(tx) => &tx.statements,
        }
    }

    fn timeout(&self) -> Duration {
        match self {
            Exec::Pool(db) => db.query_timeout,
            Exec::Tx(tx) => tx.timeout(),
        }
    }

    /// Runs a statement and returns how many rows it changed.
    pub async fn execute(&mut self, query: Query) -> AppResult<u64> {
        dispatch!(self, query, |q, c| async move {
            q.execute(c).await.map(|r| r.rows_affected())
        })
    }

    /// Runs a statement whose count of changed rows does not matter.
    pub async fn run(&mut self, query: Query) -> AppResult<()> {
        self.execute(query).await.map(|_| ())
    }

    /// Runs a statement meant to change one row; `false` when it changed none (the row is
    /// missing, or a condition such as an expected version or state no longer holds).
    pub async fn changed_one(&mut self, query: Query) -> AppResult<bool> {
        Ok(self.execute(query).await? == 1)
    }

    pub async fn fetch_all<T: Row>(&mut self, query: Query) -> AppResult<Vec<T>> {
        dispatch!(self, query, |q, c| q
            .try_map(|r| T::from_row(&r))
            .fetch_all(c))
    }

    pub async fn fetch_optional<T: Row>(&mut self, query: Query) -> AppResult<Option<T>> {
        dispatch!(self, query, |q, c| q
            .try_map(|r| T::from_row(&r))
            .fetch_optional(c))
    }

    /// The first row; none is [`nexus_core::AppError::NotFound`].
    pub async fn fetch_one<T: Row>(&mut self, query: Query) -> AppResult<T> {
        dispatch!(self, query, |q, c| q
            .try_map(|r| T::from_row(&r))
            .fetch_one(c))
    }

    /// Inserts `rows` as `head VALUES (…), …`, as few statements as the parameter limits
    /// of both backends allow; `params` is the number of placeholders per row.
    pub async fn insert_rows<R>(
        &mut self,
        head: &'static str,
        params: usize,
        rows: &[R],
        mut row: impl FnMut(&mut Tuple<'_>, &R),
    ) -> AppResult<()> {
        for chunk in rows.chunks(rows_per_statement(params)) {
            self.execute(query(head).values(chunk, &mut row)).await?;
        }
        Ok(())
    }

    /// The first column of the first row.
    pub async fn scalar<T>(&mut self, query: Query) -> AppResult<T>
    where
        (T,): Row,
    {
        self.fetch_one::<(T,)>(query).await.map(|(v,)| v)
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar_optional<T>(&mut self, query: Query) -> AppResult<Option<T>>
    where
        (T,): Row,
    {
        Ok(self.fetch_optional::<(T,)>(query).await?.map(|(v,)| v))
    }

    /// The first column of every row.
    pub async fn scalars<T>(&mut self, query: Query) -> AppResult<Vec<T>>
    where
        (T,): Row,
    {
        Ok(self
            .fetch_all::<(T,)>(query)
            .await?
            .into_iter()
            .map(|(v,)| v)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file of its own; the directory must outlive the pool.
    async fn file_db(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}", dir.path().join("exec.db").display());
        let settings = nexus_core::config::Settings {
            database_url: Some(nexus_core::config::SecretUrl::new(url)),
            ..Default::default()
        };
        Db::connect(&settings).await.unwrap()
    }

    #[tokio::test]
    async fn the_same_function_runs_on_the_pool_and_in_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(&dir).await;
        async fn count(x: impl Into<Exec<'_>>) -> AppResult<i64> {
            x.into().scalar(query("SELECT COUNT(*) FROM t")).await
        }
        async fn insert(x: impl Into<Exec<'_>>, v: Option<&str>) -> AppResult<u64> {
            x.into()
                .execute(query("INSERT INTO t (v) VALUES ($1)").bind(v))
                .await
        }
        Exec::from(&db)
            .execute(query("CREATE TABLE t (v TEXT)"))
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(insert(&mut tx, Some("a")).await.unwrap(), 1);
        assert_eq!(insert(&mut tx, None).await.unwrap(), 1);
        assert_eq!(count(&mut tx).await.unwrap(), 2);
        tx.commit().await.unwrap();
        assert_eq!(count(&db).await.unwrap(), 2);
        let values: Vec<Option<String>> = Exec::from(&db)
            .scalars(query("SELECT v FROM t ORDER BY v"))
            .await
            .unwrap();
        assert_eq!(values, vec![None, Some("a".to_owned())]);
    }

    #[tokio::test]
    async fn a_missing_row_is_not_found_and_a_bad_statement_is_internal() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(&dir).await;
        let missing = Exec::from(&db)
            .scalar::<i64>(query("SELECT 1 WHERE 1 = 0"))
            .await
            .unwrap_err();
        assert!(matches!(missing, nexus_core::AppError::NotFound(_)));
        let bad = Exec::from(&db)
            .execute(query("SELEC nonsense"))
            .await
            .unwrap_err();
        assert!(matches!(bad, nexus_core::AppError::Internal(_)));
    }
}
