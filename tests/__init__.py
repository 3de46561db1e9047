"""Tests of pbx_bridge."""
