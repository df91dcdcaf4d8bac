//! gcfg INI dialect (in progress).
