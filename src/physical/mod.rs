//! The physical-cluster adapter: everything TMC does against a real
//! kube-apiserver goes through here. For now: the health probe.

pub mod probe;
