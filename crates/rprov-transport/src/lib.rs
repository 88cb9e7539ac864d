//! rprov-transport
