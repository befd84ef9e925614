//! Kubernetes-style feature gates.
