//! What the two backends share: queries written once with `$n` placeholders,
//! rendered for each dialect.

use std::borrow::Cow;

use crate::target::Dialect;

/// The placeholders of `sql` for `dialect`: `$n` on PostgreSQL, `?n` on SQLite.
/// Only used on mig-rs's own statements, where `$` appears in no literal.
pub(crate) fn placeholders<'a>(dialect: Dialect, sql: impl Into<Cow<'a, str>>) -> String {
    let sql = sql.into();
    match dialect {
        Dialect::Postgres => sql.into_owned(),
        Dialect::Sqlite => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// The API's queries that are the same on both backends, expanded in
/// `postgres_api.rs` and `sqlite_api.rs` (names such as `get`,
/// `read_investigator`, `INVESTIGATOR_COLUMNS` and `IDS_SQL` resolve there).
macro_rules! shared_api_queries {
    ($store:ident, $dialect:expr) => {
        impl $store {
        pub(super) async fn api_get_investigator(&self, id: Id) -> StoreResult<Option<Investigator>> {
            let sql = format!(
                "SELECT {INVESTIGATOR_COLUMNS}, (apikey IS NOT NULL) AS has_apikey \
                 FROM investigators WHERE id = $1"
            );
            let row = sqlx::query(AssertSqlSafe($crate::dialect::placeholders($dialect, sql)))
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
            let rows = sqlx::query(AssertSqlSafe($crate::dialect::placeholders($dialect, sql)))
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
            let done = sqlx::query(AssertSqlSafe($crate::dialect::placeholders($dialect, "UPDATE investigators SET apikey = $2, apisalt = $3 WHERE id = $1")))
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
            let done = sqlx::query(AssertSqlSafe($crate::dialect::placeholders($dialect, "UPDATE investigators SET status = $2 WHERE id = $1")))
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
                    AssertSqlSafe($crate::dialect::placeholders(
                        $dialect,
                        "SELECT COUNT(*) FROM investigators WHERE id <> $1 AND (permissions & $2) <> 0",
                    )),
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
            let done = sqlx::query(AssertSqlSafe($crate::dialect::placeholders($dialect, "UPDATE investigators SET permissions = $2 WHERE id = $1")))
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
            sqlx::query(AssertSqlSafe($crate::dialect::placeholders($dialect, sql)))
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

        }
    };
}

pub(crate) use shared_api_queries;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        let sql = "UPDATE t SET a = $2 WHERE id = $1 AND b = '$'";
        assert_eq!(placeholders(Dialect::Postgres, sql), sql);
        assert_eq!(
            placeholders(Dialect::Sqlite, sql),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b = '$'"
        );
    }
}
