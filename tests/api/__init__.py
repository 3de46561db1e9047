"""Tests of the provider client library."""
