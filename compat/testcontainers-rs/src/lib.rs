//! Nothing here: the cases are the integration tests in tests/ (cargo wants one target besides).
