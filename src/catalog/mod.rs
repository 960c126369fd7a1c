//! What iriswire tells clients about types: backend type names and values
//! mapped to PostgreSQL types (OIDs, sizes, names).

pub mod types;
