//! The API's queries on PostgreSQL (spec api.md §4, §6): every value bound.

use mig_protocol::agent::{AgentsStats, AgentsVersionsSum};
use mig_protocol::investigator::Permission;
use mig_protocol::{Action, GoTime, Id, Investigator, Permissions};

use crate::store::Store;

use super::{INVESTIGATOR_COLUMNS, PgStore, get, read_investigator};
use crate::common::{db_error, decode_json};
use crate::store::{ApiKeyHolder, StoreError, StoreResult};
use sqlx::AssertSqlSafe;

impl PgStore {
    pub(super) async fn api_get_investigator(&self, id: Id) -> StoreResult<Option<Investigator>> {
        let sql = format!(
            "SELECT {INVESTIGATOR_COLUMNS}, (apikey IS NOT NULL) AS has_apikey \
             FROM investigators WHERE id = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_i64())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select an investigator"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut investigator = read_investigator(&row, false)?;
        if get::<bool>(&row, "has_apikey")? {
            investigator.apikey = "set".to_owned();
        }
        Ok(Some(investigator))
    }

    pub(super) async fn api_key_holders_impl(&self) -> StoreResult<Vec<ApiKeyHolder>> {
        let sql = format!(
            "SELECT {INVESTIGATOR_COLUMNS}, apikey, apisalt FROM investigators \
             WHERE status = 'active' AND apikey IS NOT NULL AND apisalt IS NOT NULL ORDER BY id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select API key holders"))?;
        rows.iter()
            .map(|row| {
                Ok(ApiKeyHolder {
                    investigator: read_investigator(row, false)?,
                    hash: get(row, "apikey")?,
                    salt: get(row, "apisalt")?,
                })
            })
            .collect()
    }

    pub(super) async fn api_set_investigator_api_key(
        &self,
        id: Id,
        key: Option<(&[u8], &[u8])>,
    ) -> StoreResult<()> {
        let (hash, salt) = key.unzip();
        let done = sqlx::query("UPDATE investigators SET apikey = $2, apisalt = $3 WHERE id = $1")
            .bind(id.as_i64())
            .bind(hash)
            .bind(salt)
            .execute(&self.pool)
            .await
            .map_err(db_error("update an investigator's API key"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "investigator",
                id,
            });
        }
        Ok(())
    }

    pub(super) async fn api_set_investigator_status(
        &self,
        id: Id,
        status: &str,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE investigators SET status = $2 WHERE id = $1")
            .bind(id.as_i64())
            .bind(status)
            .execute(&self.pool)
            .await
            .map_err(db_error("update an investigator's status"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "investigator",
                id,
            });
        }
        Ok(())
    }

    pub(super) async fn api_set_investigator_permissions(
        &self,
        id: Id,
        permissions: Permissions,
    ) -> StoreResult<()> {
        let admin_bits = Permission::Investigator.bit() | Permission::InvestigatorUpdate.bit();
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(db_error("begin a permissions update"))?;
        if permissions.0 & admin_bits != admin_bits {
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM investigators WHERE id <> $1 AND (permissions & $2) <> 0",
            )
            .bind(id.as_i64())
            .bind(i64::try_from(Permissions::ADMIN.0).unwrap_or(i64::MAX))
            .fetch_one(&mut *transaction)
            .await
            .map_err(db_error("count administrators"))?;
            if others == 0 {
                return Err(StoreError::Conflict(
                    "will not remove last admin".to_owned(),
                ));
            }
        }
        let done = sqlx::query("UPDATE investigators SET permissions = $2 WHERE id = $1")
            .bind(id.as_i64())
            .bind(i64::try_from(permissions.0).unwrap_or(i64::MAX))
            .execute(&mut *transaction)
            .await
            .map_err(db_error("update an investigator's permissions"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "investigator",
                id,
            });
        }
        transaction
            .commit()
            .await
            .map_err(db_error("commit a permissions update"))
    }

    pub(super) async fn api_investigator_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<Investigator>> {
        let sql = format!(
            "SELECT {INVESTIGATOR_COLUMNS} FROM investigators \
             WHERE upper(pgpfingerprint) = upper($1) ORDER BY id LIMIT 1"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select an investigator by fingerprint"))?
            .map(|row| read_investigator(&row, false))
            .transpose()
    }

    pub(super) async fn api_recent_actions(&self, limit: u32) -> StoreResult<Vec<Action>> {
        let ids: Vec<i64> = sqlx::query_scalar(IDS_SQL)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select recent actions"))?;
        let mut actions = Vec::with_capacity(ids.len());
        for id in ids {
            let id = Id(u64::try_from(id).unwrap_or_default());
            if let Some(action) = self.get_action(id).await? {
                actions.push(action);
            }
        }
        Ok(actions)
    }

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
