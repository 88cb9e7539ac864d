//! rprov-inventory
