//! What the two backends share: queries written once with `$n` placeholders,
//! rendered for each dialect.

use std::borrow::Cow;

use crate::target::Dialect;

/// Columns of a manifest row, read by `read_manifest`.
pub(crate) const MANIFEST_COLUMNS: &str =
    "CAST(id AS BIGINT) AS id, name, content, \"timestamp\", status, target";

/// Columns of a loader row, read by `read_loader`.
pub(crate) const LOADER_COLUMNS: &str = "CAST(id AS BIGINT) AS id, loadername, keyprefix, name, \
     lastseen, enabled, expectenv";

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

/// The manifest and loader queries (api.md §4.13–4.15), the same on both backends,
/// expanded in `postgres_api.rs` and `sqlite_api.rs`. Names resolved there:
/// `get`, `read_time`, `time_param`, `JSON_CAST` (`::json` or nothing) and the
/// method `loader_ids_matching` (a loader expression evaluated under the read-only role).
macro_rules! shared_manifest_queries {
    ($store:ident, $dialect:expr) => {
        impl $store {
        fn sql(text: &str) -> AssertSqlSafe<String> {
            AssertSqlSafe($crate::dialect::placeholders($dialect, text))
        }

        fn read_manifest(row: &Row) -> StoreResult<ManifestRecord> {
            Ok(ManifestRecord {
                id: id_of("manifest", get::<i64>(row, "id")?)?,
                name: get(row, "name")?,
                content: get(row, "content")?,
                timestamp: GoTime::from(read_time(row, "timestamp")?),
                status: get(row, "status")?,
                target: get(row, "target")?,
                signatures: None,
            })
        }

        fn read_loader(row: &Row) -> StoreResult<LoaderEntry> {
            Ok(LoaderEntry {
                id: id_of("loader", get::<i64>(row, "id")?)?,
                name: get(row, "loadername")?,
                prefix: get(row, "keyprefix")?,
                key: String::new(),
                agentname: get::<Option<String>>(row, "name")?.unwrap_or_default(),
                lastseen: GoTime::from(read_time(row, "lastseen")?),
                enabled: get(row, "enabled")?,
                expectenv: get::<Option<String>>(row, "expectenv")?.unwrap_or_default(),
            })
        }

        pub(super) async fn api_insert_manifest(
            &self,
            manifest: &ManifestRecord,
            now: DateTime<Utc>,
        ) -> StoreResult<Id> {
            let id: i64 = sqlx::query_scalar(Self::sql(
                "INSERT INTO manifests (name, content, \"timestamp\", status, target) \
                 VALUES ($1, $2, $3, 'staged', $4) RETURNING CAST(id AS BIGINT)",
            ))
            .bind(&manifest.name)
            .bind(&manifest.content)
            .bind(time_param(now))
            .bind(&manifest.target)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error("insert a manifest"))?;
            id_of("manifest", id)
        }

        pub(super) async fn api_get_manifest(&self, id: Id) -> StoreResult<Option<ManifestRecord>> {
            let Some(row) = sqlx::query(Self::sql(&format!("SELECT {MANIFEST_COLUMNS} FROM manifests WHERE id = $1")))
                .bind(id.as_i64())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error("select a manifest"))?
            else {
                return Ok(None);
            };
            let mut manifest = Self::read_manifest(&row)?;
            let signatures: Vec<String> = sqlx::query_scalar(Self::sql(
                "SELECT pgpsignature FROM manifestsig WHERE manifestid = $1 ORDER BY investigatorid",
            ))
            .bind(id.as_i64())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select manifest signatures"))?;
            manifest.signatures = (!signatures.is_empty()).then_some(signatures);
            Ok(Some(manifest))
        }

        /// Sets a manifest that is not disabled `active` or `staged` by its signature count.
        async fn recompute_manifest_status<'c>(
            tx: &mut sqlx::Transaction<'c, Db>,
            id: Id,
            required: u32,
        ) -> StoreResult<()> {
            sqlx::query(Self::sql(
                "UPDATE manifests SET status = CASE WHEN \
                 (SELECT COUNT(*) FROM manifestsig WHERE manifestid = $1) >= $2 \
                 THEN 'active' ELSE 'staged' END WHERE id = $1 AND status <> 'disabled'",
            ))
            .bind(id.as_i64())
            .bind(i64::from(required))
            .execute(&mut **tx)
            .await
            .map_err(db_error("update a manifest's status"))?;
            Ok(())
        }

        async fn manifest_status_tx<'c>(
            tx: &mut sqlx::Transaction<'c, Db>,
            id: Id,
        ) -> StoreResult<Option<String>> {
            sqlx::query_scalar(Self::sql("SELECT status FROM manifests WHERE id = $1"))
                .bind(id.as_i64())
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_error("select a manifest's status"))
        }

        pub(super) async fn api_sign_manifest(
            &self,
            id: Id,
            investigator: Id,
            signature: &str,
            required: u32,
        ) -> StoreResult<()> {
            let mut tx = self.pool.begin().await.map_err(db_error("begin a manifest signature"))?;
            match Self::manifest_status_tx(&mut tx, id).await?.as_deref() {
                None | Some("disabled") => {
                    return Err(StoreError::NotFound { what: "signable manifest", id });
                }
                Some(_) => {}
            }
            sqlx::query(Self::sql(
                "INSERT INTO manifestsig (manifestid, investigatorid, pgpsignature) VALUES ($1, $2, $3)",
            ))
            .bind(id.as_i64())
            .bind(investigator.as_i64())
            .bind(signature)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert a manifest signature"))?;
            Self::recompute_manifest_status(&mut tx, id, required).await?;
            tx.commit().await.map_err(db_error("commit a manifest signature"))
        }

        pub(super) async fn api_set_manifest_status(
            &self,
            id: Id,
            status: &str,
            required: u32,
        ) -> StoreResult<()> {
            let mut tx = self.pool.begin().await.map_err(db_error("begin a manifest status change"))?;
            if Self::manifest_status_tx(&mut tx, id).await?.is_none() {
                return Err(StoreError::NotFound { what: "manifest", id });
            }
            match status {
                "staged" => {
                    sqlx::query(Self::sql("DELETE FROM manifestsig WHERE manifestid = $1"))
                        .bind(id.as_i64())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error("delete manifest signatures"))?;
                    Self::recompute_manifest_status(&mut tx, id, required).await?;
                }
                "disabled" => {
                    sqlx::query(Self::sql("UPDATE manifests SET status = 'disabled' WHERE id = $1"))
                        .bind(id.as_i64())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error("disable a manifest"))?;
                }
                other => {
                    return Err(StoreError::Conflict(format!("invalid manifest status {other:?}")));
                }
            }
            tx.commit().await.map_err(db_error("commit a manifest status change"))
        }

        pub(super) async fn api_manifest_loaders(
            &self,
            id: Id,
            now: DateTime<Utc>,
        ) -> StoreResult<Vec<LoaderEntry>> {
            let manifest = self
                .api_get_manifest(id)
                .await?
                .filter(|manifest| manifest.status == "active" || manifest.status == "staged")
                .ok_or(StoreError::NotFound { what: "manifest", id })?;
            let matching = self.loader_ids_matching(&manifest.target, now).await?;
            let rows = sqlx::query(Self::sql(&format!(
                "SELECT {LOADER_COLUMNS} FROM loaders WHERE enabled = TRUE ORDER BY id"
            )))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select enabled loaders"))?;
            rows.iter()
                .map(Self::read_loader)
                .filter(|entry| {
                    entry.as_ref().map_or(true, |entry| matching.contains(&entry.id.as_i64()))
                })
                .collect()
        }

        pub(super) async fn api_insert_loader(
            &self,
            entry: &LoaderEntry,
            prefix: &str,
            key: (&[u8], &[u8]),
            now: DateTime<Utc>,
        ) -> StoreResult<Id> {
            let id: i64 = sqlx::query_scalar(Self::sql(
                "INSERT INTO loaders (loadername, keyprefix, loaderkey, salt, lastseen, enabled, expectenv) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, NULLIF($6, '')) RETURNING CAST(id AS BIGINT)",
            ))
            .bind(&entry.name)
            .bind(prefix)
            .bind(key.0)
            .bind(key.1)
            .bind(time_param(now))
            .bind(&entry.expectenv)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error("insert a loader"))?;
            id_of("loader", id)
        }

        pub(super) async fn api_get_loader(&self, id: Id) -> StoreResult<Option<LoaderEntry>> {
            sqlx::query(Self::sql(&format!("SELECT {LOADER_COLUMNS} FROM loaders WHERE id = $1")))
                .bind(id.as_i64())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error("select a loader"))?
                .map(|row| Self::read_loader(&row))
                .transpose()
        }

        async fn update_loader<'q>(
            &self,
            id: Id,
            query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
            what: &'static str,
        ) -> StoreResult<()> {
            let done = query.execute(&self.pool).await.map_err(db_error(what))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { what: "loader", id });
            }
            Ok(())
        }

        pub(super) async fn api_set_loader_enabled(&self, id: Id, enabled: bool) -> StoreResult<()> {
            let query = sqlx::query(Self::sql("UPDATE loaders SET enabled = $2 WHERE id = $1"))
                .bind(id.as_i64())
                .bind(enabled);
            self.update_loader(id, query, "update a loader's status").await
        }

        pub(super) async fn api_set_loader_expectenv(
            &self,
            id: Id,
            expectenv: Option<&str>,
        ) -> StoreResult<()> {
            let query = sqlx::query(Self::sql("UPDATE loaders SET expectenv = $2 WHERE id = $1"))
                .bind(id.as_i64())
                .bind(expectenv.map(str::to_owned));
            self.update_loader(id, query, "update a loader's expected environment").await
        }

        pub(super) async fn api_set_loader_key(
            &self,
            id: Id,
            key: (&[u8], &[u8]),
        ) -> StoreResult<String> {
            sqlx::query_scalar(Self::sql(
                "UPDATE loaders SET loaderkey = $2, salt = $3 WHERE id = $1 RETURNING keyprefix",
            ))
            .bind(id.as_i64())
            .bind(key.0)
            .bind(key.1)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("update a loader's key"))?
            .ok_or(StoreError::NotFound { what: "loader", id })
        }

        pub(super) async fn api_loader_key_holder(
            &self,
            prefix: &str,
        ) -> StoreResult<Option<LoaderKeyHolder>> {
            let Some(row) = sqlx::query(Self::sql(
                "SELECT CAST(id AS BIGINT) AS id, loadername, loaderkey, salt FROM loaders \
                 WHERE keyprefix = $1 AND enabled = TRUE",
            ))
            .bind(prefix)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select a loader by key prefix"))?
            else {
                return Ok(None);
            };
            Ok(Some(LoaderKeyHolder {
                id: id_of("loader", get::<i64>(&row, "id")?)?,
                name: get(&row, "loadername")?,
                hash: get(&row, "loaderkey")?,
                salt: get(&row, "salt")?,
            }))
        }

        pub(super) async fn api_loader_manifest(
            &self,
            loader: Id,
            agent: &Agent,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<LoaderManifest>> {
            let env = mig_protocol::gojson::to_string(&agent.environment);
            let tags = mig_protocol::gojson::to_string(&agent.tags);
            let updated: Option<(String, Option<String>)> = sqlx::query_as(Self::sql(&format!(
                "UPDATE loaders SET name = $2, env = $3{JSON_CAST}, tags = $4{JSON_CAST}, \
                 queueloc = NULLIF($5, ''), lastseen = $6 WHERE id = $1 \
                 RETURNING loadername, expectenv"
            )))
            .bind(loader.as_i64())
            .bind(&agent.name)
            .bind(env)
            .bind(tags)
            .bind(&agent.queueloc)
            .bind(time_param(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("record a loader's check-in"))?;
            let Some((loader_name, expectenv)) = updated else {
                return Err(StoreError::NotFound { what: "loader", id: loader });
            };
            if let Some(expectenv) = expectenv.filter(|text| !text.trim().is_empty()) {
                if !self.loader_ids_matching(&expectenv, now).await?.contains(&loader.as_i64()) {
                    return Ok(None);
                }
            }
            let rows = sqlx::query(Self::sql(&format!(
                "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE status = 'active' \
                 ORDER BY \"timestamp\" DESC, id DESC"
            )))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select active manifests"))?;
            for row in &rows {
                let manifest = Self::read_manifest(row)?;
                // A target that does not compile matches nothing (the original's SQL error).
                let matches = match self.loader_ids_matching(&manifest.target, now).await {
                    Ok(ids) => ids.contains(&loader.as_i64()),
                    Err(StoreError::Target(_)) => false,
                    Err(other) => return Err(other),
                };
                if matches {
                    let Some(manifest) = self.api_get_manifest(manifest.id).await? else {
                        continue;
                    };
                    return Ok(Some(LoaderManifest { loader_name, manifest }));
                }
            }
            Ok(None)
        }
        }
    };
}

pub(crate) use shared_manifest_queries;

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
