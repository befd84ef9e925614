//! tmc.kcp.io/v1alpha1 API types (owned by the API-types work).
