use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for synchronous database and cache clients created in an async function:
    /// `sqlite3.connect`, `psycopg2.connect`, sync `psycopg.connect`, `pymysql.connect`,
    /// `MySQLdb.connect`, `mysql.connector.connect`, `pyodbc.connect`, `oracledb.connect`,
    /// `cx_Oracle.connect`, `pymongo.MongoClient`, `redis.Redis`, `redis.StrictRedis`,
    /// `redis.from_url`, `sqlalchemy.create_engine` and `boto3.client/resource`.
    ///
    /// ## Why is this bad?
    /// Every query through a sync client blocks the event loop for a network round trip.
    /// Each of these libraries has an async client, or an async sibling library.
    ///
    /// ## Example
    /// ```python
    /// import redis
    ///
    /// async def count(key):
    ///     client = redis.Redis()
    ///     return client.incr(key)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import redis.asyncio as redis
    ///
    /// async def count(key):
    ///     client = redis.Redis()
    ///     return await client.incr(key)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: moving to an async client changes every call site.
    ///
    /// ## Known problems
    /// Only the creation of the client is flagged, not each query through it.
    ///
    /// ## References
    /// - [redis-py asyncio](https://redis.readthedocs.io/en/stable/examples/asyncio_examples.html)
    code: "LW106",
    name: "blocking-db-client",
    summary: "a synchronous database or cache client created in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC200"],
    peers: "none",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["connect", "pymongo", "redis", "sqlalchemy", "boto3"],
}

fn is_sync_client(qualified: &str) -> bool {
    matches!(
        qualified,
        "sqlite3.connect"
            | "psycopg2.connect"
            | "psycopg.connect"
            | "psycopg.Connection.connect"
            | "pymysql.connect"
            | "MySQLdb.connect"
            | "mysql.connector.connect"
            | "pyodbc.connect"
            | "oracledb.connect"
            | "cx_Oracle.connect"
            | "pymongo.MongoClient"
            | "redis.Redis"
            | "redis.StrictRedis"
            | "redis.from_url"
            | "redis.Redis.from_url"
            | "redis.client.Redis"
            | "redis.client.StrictRedis"
            | "sqlalchemy.create_engine"
            | "boto3.client"
            | "boto3.resource"
    )
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let Some(qualified) = call.qualified_name.as_deref() else { return };
    if is_sync_client(qualified) {
        checker.report(
            Rule::BlockingDbClient,
            call.node,
            format!(
                "Synchronous client `{qualified}` created {}",
                checker.semantic.async_place(call.node.start_byte())
            ),
        );
    }
}
