//! rprov-secrets
