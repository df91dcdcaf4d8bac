//! The contract every module honours (spec modules.md §2).

use mig_protocol::ModuleResult;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What a module run knows besides its parameters.
#[derive(Debug, Clone, Default)]
pub struct ModuleContext {
    /// The agent's `extraprivacymode`: apply [`Module::enhance_privacy`] before printing.
    pub extra_privacy: bool,
    /// The `persistsock` of the input message: where a persistent module
    /// answers queries (spec modules.md §2.6).
    pub persistsock: Option<String>,
    /// The agent's `[timedrift]` section: which NTP servers timedrift asks.
    pub timedrift: crate::timedrift::Config,
}

/// A module's result with its own element and statistics types. Serialises as
/// the envelope `{"foundanything","success","elements","statistics","errors"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "E: Serialize, S: Serialize",
    deserialize = "E: DeserializeOwned, S: DeserializeOwned"
))]
pub struct TypedResult<E, S> {
    #[serde(default)]
    pub foundanything: bool,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub elements: Option<E>,
    #[serde(default)]
    pub statistics: Option<S>,
    #[serde(default)]
    pub errors: Option<Vec<String>>,
}

impl<E, S> Default for TypedResult<E, S> {
    fn default() -> Self {
        Self {
            foundanything: false,
            success: false,
            elements: None,
            statistics: None,
            errors: None,
        }
    }
}

impl<E, S> TypedResult<E, S> {
    /// A failed run: `success:false` and the error, as the original's fatal path.
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            errors: Some(vec![message.into()]),
            ..Self::default()
        }
    }

    /// The footer pkg and scribe print after their findings when not
    /// `found_only`: each error, then `Statistics: runtime <execruntime>`.
    pub fn push_errors_and_runtime(&self, lines: &mut Vec<String>, runtime: Option<&str>) {
        lines.extend(self.errors.iter().flatten().cloned());
        lines.push(format!(
            "Statistics: runtime {}",
            runtime.unwrap_or_default()
        ));
    }

    /// Appends a soft error.
    pub fn push_error(&mut self, message: impl Into<String>) {
        self.errors
            .get_or_insert_with(Vec::new)
            .push(message.into());
    }
}

/// One agent module.
pub trait Module {
    /// The registry name (lower case).
    const NAME: &'static str;
    /// The module's `elements`.
    type Elements: Serialize + DeserializeOwned;
    /// The module's `statistics`.
    type Statistics: Serialize + DeserializeOwned;

    /// Runs the module on its parameters (a generic JSON tree: decode it with
    /// `mig_protocol::gojson::from_value` for Go's leniency). Failures are data:
    /// a fatal one gives `success:false` and the error in `errors`.
    fn run(
        parameters: &serde_json::Value,
        context: &ModuleContext,
    ) -> TypedResult<Self::Elements, Self::Statistics>;

    /// The result of a run whose input message could not be read (the file
    /// module answers with empty elements and zero statistics); the default is
    /// [`TypedResult::failure`].
    fn input_error(message: String) -> TypedResult<Self::Elements, Self::Statistics> {
        TypedResult::failure(message)
    }

    /// Rewrites a result for the agent's extra privacy mode (file, netstat and
    /// scribe mask what they found); the default changes nothing.
    fn enhance_privacy(_result: &mut TypedResult<Self::Elements, Self::Statistics>) {}

    /// The lines `mig` prints for one agent's result (without the agent-name
    /// prefix), byte-exact with the original's printer. `found_only` is
    /// `-show found` (the default).
    fn print(
        result: &TypedResult<Self::Elements, Self::Statistics>,
        found_only: bool,
    ) -> Vec<String>;
}

/// Converts a wire result into a module's typed result.
pub fn typed_from_wire<M: Module>(
    result: &ModuleResult,
) -> Result<TypedResult<M::Elements, M::Statistics>, String> {
    let decode_elements = |value: &serde_json::Value| -> Result<Option<M::Elements>, String> {
        if value.is_null() {
            return Ok(None);
        }
        mig_protocol::gojson::from_value(value)
            .map(Some)
            .map_err(|err| format!("{} elements: {err}", M::NAME))
    };
    let elements = decode_elements(&result.elements)?;
    let statistics = if result.statistics.is_null() {
        None
    } else {
        Some(
            mig_protocol::gojson::from_value(&result.statistics)
                .map_err(|err| format!("{} statistics: {err}", M::NAME))?,
        )
    };
    Ok(TypedResult {
        foundanything: result.foundanything,
        success: result.success,
        elements,
        statistics,
        errors: result.errors.clone(),
    })
}
