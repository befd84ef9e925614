//! Who is asking, and may they: authentication and authorization of every API
//! request, the rules of section 5 of the design brief.
//!
//! - `identity`: the authenticated user (`UserInfo`).
//! - `client_cert`: what a connection's TLS client certificate proves (a user
//!   signed by the client CA, or kcp-front-proxy signed by the request-header CA).
//! - `authn`: the order in which credentials are tried, and the request headers
//!   trusted only from the front proxy.
//! - `attributes`: what a request does, in SubjectAccessReview terms (pure).
//! - `authz`: the SubjectAccessReview against kcp, cached briefly.
//! - `gate`: the two steps in the order every request takes them.
//! - `ttl_cache`: the small expiring map both caches use.
//!
//! Nothing here talks to kcp itself: token and access reviews go through the
//! `ReviewTokens` and `ReviewAccess` traits, implemented by the kcp adapter.

pub mod attributes;
pub mod authn;
pub mod authz;
pub mod client_cert;
pub mod gate;
pub mod identity;
pub mod ttl_cache;

pub use attributes::Attributes;
pub use authn::{Authenticator, AuthnError};
pub use authz::{Authorizer, Decision};
pub use client_cert::{ClientCertAuthority, PeerIdentity};
pub use gate::Gate;
pub use identity::UserInfo;
