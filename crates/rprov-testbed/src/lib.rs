//! rprov-testbed
