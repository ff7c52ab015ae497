//! The transfer ledger's states and rules.
