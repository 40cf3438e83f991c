//! GitHub Actions / GitLab CI detection and defaults, read through an env lookup closure.
