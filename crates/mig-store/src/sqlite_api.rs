//! The API's queries on SQLite (spec api.md §4, §6): every value bound.

use mig_protocol::investigator::Permission;
use mig_protocol::{Id, Investigator, Permissions};

use super::{INVESTIGATOR_COLUMNS, SqliteStore, get, read_investigator};
use crate::common::db_error;
use crate::store::{ApiKeyHolder, StoreError, StoreResult};
use sqlx::AssertSqlSafe;

impl SqliteStore {
    pub(super) async fn api_get_investigator(&self, id: Id) -> StoreResult<Option<Investigator>> {
        let sql = format!(
            "SELECT {INVESTIGATOR_COLUMNS}, (apikey IS NOT NULL) AS has_apikey \
             FROM investigators WHERE id = ?1"
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
        let done = sqlx::query("UPDATE investigators SET apikey = ?2, apisalt = ?3 WHERE id = ?1")
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
        let done = sqlx::query("UPDATE investigators SET status = ?2 WHERE id = ?1")
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
                "SELECT COUNT(*) FROM investigators WHERE id <> ?1 AND (permissions & ?2) <> 0",
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
        let done = sqlx::query("UPDATE investigators SET permissions = ?2 WHERE id = ?1")
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
}
