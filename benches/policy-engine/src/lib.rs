//! Empty: the benchmark lives in benches/engine.rs.
