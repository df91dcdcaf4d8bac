//! The API's queries on PostgreSQL (spec api.md §4, §6): every value bound.

use mig_protocol::agent::{AgentsStats, AgentsVersionsSum};
use mig_protocol::investigator::Permission;
use mig_protocol::{Action, GoTime, Id, Investigator, Permissions};

use crate::store::Store;

use super::{INVESTIGATOR_COLUMNS, PgStore, get, read_investigator};
use crate::common::id_of;
use crate::common::{db_error, decode_json};
use crate::dialect::{LOADER_COLUMNS, MANIFEST_COLUMNS};
use crate::store::{ApiKeyHolder, LoaderKeyHolder, LoaderManifest, StoreError, StoreResult};
use crate::target::Dialect;
use chrono::{DateTime, Utc};
use mig_protocol::Agent;
use mig_protocol::manifest::{LoaderEntry, ManifestRecord};
use sqlx::AssertSqlSafe;

crate::dialect::shared_api_queries!(PgStore, crate::target::Dialect::Postgres);
crate::dialect::shared_manifest_queries!(PgStore, crate::target::Dialect::Postgres);

type Row = sqlx::postgres::PgRow;
type Db = sqlx::Postgres;
const JSON_CAST: &str = "::json";

fn time_param(time: DateTime<Utc>) -> DateTime<Utc> {
    time
}

fn read_time(row: &Row, name: &str) -> StoreResult<DateTime<Utc>> {
    get(row, name)
}

impl PgStore {
    /// Ids of the loaders a loader expression matches, evaluated under the read-only role.
    async fn loader_ids_matching(
        &self,
        expression: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        let compiled =
            crate::target::compile_loader_expression(expression, Dialect::Postgres, 1, now)?;
        let sql = format!(
            "SELECT CAST(agents.id AS BIGINT) AS id FROM {} WHERE ({})",
            crate::target::LOADERS_AS_AGENTS,
            compiled.sql
        );
        let mut tx = self.readonly_transaction().await?;
        let rows = super::bind_target(sqlx::query(AssertSqlSafe(sql)), &compiled.params)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("evaluate a loader expression"))?;
        tx.commit()
            .await
            .map_err(db_error("commit a loader expression"))?;
        rows.iter().map(|row| get::<i64>(row, "id")).collect()
    }
}

impl PgStore {
    pub(super) async fn api_latest_agents_stats(&self) -> StoreResult<Option<AgentsStats>> {
        let Some(row) = sqlx::query(STATS_SQL)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select the latest agents_stats"))?
        else {
            return Ok(None);
        };
        let number = |name: &str| -> StoreResult<f64> {
            Ok(get::<Option<f64>>(&row, name)?.unwrap_or_default())
        };
        let versions = |name: &str| -> StoreResult<Option<Vec<AgentsVersionsSum>>> {
            decode_json(
                "agents_stats versions",
                get::<Option<String>>(&row, name)?.as_deref(),
            )
        };
        Ok(Some(AgentsStats {
            timestamp: GoTime::from(stats_time(&row)?),
            onlineagents: number("online_agents")?,
            onlineagentsbyversion: versions("online_agents_by_version")?,
            onlineendpoints: number("online_endpoints")?,
            idleagents: number("idle_agents")?,
            idleagentsbyversion: versions("idle_agents_by_version")?,
            idleendpoints: number("idle_endpoints")?,
            newendpoints: number("new_endpoints")?,
            multiagentsendpoints: number("multi_agents_endpoints")?,
            disappearedendpoints: number("disappeared_endpoints")?,
            flappingendpoints: number("flapping_endpoints")?,
        }))
    }

    pub(super) async fn api_search_ids(
        &self,
        kind: crate::search::SearchType,
        filter: &crate::search::SearchFilter,
    ) -> StoreResult<Vec<Id>> {
        use crate::search::Bind;
        let (sql, binds) = crate::search::build(kind, filter, crate::target::Dialect::Postgres);
        let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Int(value) => query.bind(value),
                Bind::Text(value) => query.bind(value),
                Bind::Time(time) => query.bind(time),
            };
        }
        let ids = query
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("search"))?;
        Ok(ids
            .into_iter()
            .map(|id| Id(u64::try_from(id).unwrap_or_default()))
            .collect())
    }
}

const IDS_SQL: &str = "SELECT id::int8 FROM actions ORDER BY starttime DESC, id DESC LIMIT $1";
const STATS_SQL: &str = "SELECT \"timestamp\", online_agents::float8 AS online_agents, \
     online_agents_by_version::text AS online_agents_by_version, \
     online_endpoints::float8 AS online_endpoints, idle_agents::float8 AS idle_agents, \
     idle_agents_by_version::text AS idle_agents_by_version, \
     idle_endpoints::float8 AS idle_endpoints, new_endpoints::float8 AS new_endpoints, \
     multi_agents_endpoints::float8 AS multi_agents_endpoints, \
     disappeared_endpoints::float8 AS disappeared_endpoints, \
     flapping_endpoints::float8 AS flapping_endpoints \
     FROM agents_stats ORDER BY \"timestamp\" DESC LIMIT 1";

fn stats_time(row: &sqlx::postgres::PgRow) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    get(row, "timestamp")
}
