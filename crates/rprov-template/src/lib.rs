//! rprov-template
