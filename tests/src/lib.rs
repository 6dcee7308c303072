//! Shared parts of the end-to-end tests: a fault-injecting HTTP proxy and a
//! simulated handset wired to a real backend on loopback.

pub mod handset;
pub mod provider;
pub mod proxy;
