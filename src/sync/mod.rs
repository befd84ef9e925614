//! Sync: puts each placed workload (and the ConfigMaps and Secrets it
//! references) on the physical clusters its recorded decision names, brings
//! their status back into kcp, and removes copies that are no longer wanted.
//!
//! Pure parts: `naming` (physical namespaces, owner marks), `transform` (kcp
//! object → physical copy), `references`, `desired` (what each cluster should
//! hold), `drift`, `status` (aggregating copies' status). Adapters: `worker`
//! (one per physical cluster, with its own queue) and `controller` (computes
//! desired state from the index, writes status and releases finalizers in kcp).

pub mod board;
pub mod controller;
pub mod desired;
pub mod drift;
pub mod naming;
pub mod plan;
pub mod references;
pub mod state;
pub mod status;
pub mod synced_condition;
pub mod transform;
pub mod worker;
