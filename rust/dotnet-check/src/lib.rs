//! See tests/: this crate only holds the check that hosts .NET.
