//! The harness of `make bench` and `make e2e`: starts Pingan as a user deploys it (`pingan dev`,
//! or one `pingan serve` process per service on Postgres + Redis, with replicas behind
//! round-robin relays and cuttable proxies in front of the databases), and loads it.

pub mod calls;
pub mod fleet;
pub mod open_loop;
pub mod relay;
pub mod report;
pub mod rows;
pub mod six;
pub mod system;
