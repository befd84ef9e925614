//! kcp-tmc: transparent multi-cluster for kcp.
//!
//! Data flows one way through the modules: `kcp` (adapter: watches kcp through
//! APIExport virtual workspaces) → `index` (in-memory, per logical cluster) →
//! `server` (Kubernetes API semantics for the synthesized views). `runtime` is
//! the one composition root that wires them together.
#![forbid(unsafe_code)]

pub mod api;
pub mod apis_gen;
pub mod auth;
pub mod decisions;
pub mod feature_gates;
pub mod health;
pub mod index;
pub mod kcp;
pub mod metrics;
pub mod physical;
pub mod pki;
pub mod placement;
pub mod plugin;
pub mod registration;
pub mod resources;
pub mod runtime;
pub mod selectors;
pub mod server;
pub mod sync;
pub mod tls;
