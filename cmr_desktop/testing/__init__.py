"""Test helpers shipped with CMR Desktop (for our tests, benchmarks and plugin authors)."""
