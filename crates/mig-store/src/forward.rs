//! The API half of the `Store` trait is implemented by each backend in its
//! `*_api.rs` child module as inherent `api_*` methods; [`forward_api_methods`]
//! writes the trait methods that call them, once for both backends.

/// Inside `impl Store for X`: the API methods of the trait, each calling the
/// backend's inherent `api_*` method of the same signature.
macro_rules! forward_api_methods {
    () => {
        async fn get_investigator(
            &self,
            id: ::mig_protocol::Id,
        ) -> $crate::StoreResult<Option<::mig_protocol::Investigator>> {
            self.api_get_investigator(id).await
        }

        async fn api_key_holders(&self) -> $crate::StoreResult<Vec<$crate::store::ApiKeyHolder>> {
            self.api_key_holders_impl().await
        }

        async fn set_investigator_api_key(
            &self,
            id: ::mig_protocol::Id,
            key: Option<(&[u8], &[u8])>,
        ) -> $crate::StoreResult<()> {
            self.api_set_investigator_api_key(id, key).await
        }

        async fn set_investigator_status(
            &self,
            id: ::mig_protocol::Id,
            status: &str,
        ) -> $crate::StoreResult<()> {
            self.api_set_investigator_status(id, status).await
        }

        async fn set_investigator_permissions(
            &self,
            id: ::mig_protocol::Id,
            permissions: ::mig_protocol::Permissions,
        ) -> $crate::StoreResult<()> {
            self.api_set_investigator_permissions(id, permissions).await
        }

        async fn investigator_by_fingerprint(
            &self,
            fingerprint: &str,
        ) -> $crate::StoreResult<Option<::mig_protocol::Investigator>> {
            self.api_investigator_by_fingerprint(fingerprint).await
        }

        async fn latest_agents_stats(
            &self,
        ) -> $crate::StoreResult<Option<::mig_protocol::agent::AgentsStats>> {
            self.api_latest_agents_stats().await
        }

        async fn recent_actions(
            &self,
            limit: u32,
        ) -> $crate::StoreResult<Vec<::mig_protocol::Action>> {
            self.api_recent_actions(limit).await
        }

        async fn search_ids(
            &self,
            kind: $crate::search::SearchType,
            filter: &$crate::search::SearchFilter,
        ) -> $crate::StoreResult<Vec<::mig_protocol::Id>> {
            self.api_search_ids(kind, filter).await
        }

        async fn insert_manifest(
            &self,
            manifest: &::mig_protocol::manifest::ManifestRecord,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::StoreResult<::mig_protocol::Id> {
            self.api_insert_manifest(manifest, now).await
        }

        async fn get_manifest(
            &self,
            id: ::mig_protocol::Id,
        ) -> $crate::StoreResult<Option<::mig_protocol::manifest::ManifestRecord>> {
            self.api_get_manifest(id).await
        }

        async fn sign_manifest(
            &self,
            id: ::mig_protocol::Id,
            investigator: ::mig_protocol::Id,
            signature: &str,
            required: u32,
        ) -> $crate::StoreResult<()> {
            self.api_sign_manifest(id, investigator, signature, required)
                .await
        }

        async fn set_manifest_status(
            &self,
            id: ::mig_protocol::Id,
            status: &str,
            required: u32,
        ) -> $crate::StoreResult<()> {
            self.api_set_manifest_status(id, status, required).await
        }

        async fn manifest_loaders(
            &self,
            id: ::mig_protocol::Id,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::StoreResult<Vec<::mig_protocol::manifest::LoaderEntry>> {
            self.api_manifest_loaders(id, now).await
        }

        async fn insert_loader(
            &self,
            entry: &::mig_protocol::manifest::LoaderEntry,
            prefix: &str,
            key: (&[u8], &[u8]),
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::StoreResult<::mig_protocol::Id> {
            self.api_insert_loader(entry, prefix, key, now).await
        }

        async fn get_loader(
            &self,
            id: ::mig_protocol::Id,
        ) -> $crate::StoreResult<Option<::mig_protocol::manifest::LoaderEntry>> {
            self.api_get_loader(id).await
        }

        async fn set_loader_enabled(
            &self,
            id: ::mig_protocol::Id,
            enabled: bool,
        ) -> $crate::StoreResult<()> {
            self.api_set_loader_enabled(id, enabled).await
        }

        async fn set_loader_expectenv(
            &self,
            id: ::mig_protocol::Id,
            expectenv: Option<&str>,
        ) -> $crate::StoreResult<()> {
            self.api_set_loader_expectenv(id, expectenv).await
        }

        async fn set_loader_key(
            &self,
            id: ::mig_protocol::Id,
            key: (&[u8], &[u8]),
        ) -> $crate::StoreResult<String> {
            self.api_set_loader_key(id, key).await
        }

        async fn loader_key_holder(
            &self,
            prefix: &str,
        ) -> $crate::StoreResult<Option<$crate::store::LoaderKeyHolder>> {
            self.api_loader_key_holder(prefix).await
        }

        async fn loader_manifest(
            &self,
            loader: ::mig_protocol::Id,
            agent: &::mig_protocol::Agent,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::StoreResult<Option<$crate::store::LoaderManifest>> {
            self.api_loader_manifest(loader, agent, now).await
        }
    };
}

pub(crate) use forward_api_methods;

/// Inside `impl Store for X`: the three target evaluations, each calling the
/// backend's inherent `targets(target, now, Targets::…)`.
macro_rules! forward_target_methods {
    () => {
        async fn target_agents(
            &self,
            target: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::StoreResult<Vec<::mig_protocol::Agent>> {
            Ok(self
                .targets(target, now, $crate::common::Targets::All)
                .await?
                .0)
        }

        async fn search_target_agents(
            &self,
            target: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
            limit: u64,
        ) -> $crate::StoreResult<Vec<::mig_protocol::Agent>> {
            Ok(self
                .targets(target, now, $crate::common::Targets::First(limit))
                .await?
                .0)
        }

        async fn count_target_agents(
            &self,
            target: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::StoreResult<u64> {
            Ok(self
                .targets(target, now, $crate::common::Targets::Count)
                .await?
                .1)
        }
    };
}

pub(crate) use forward_target_methods;
