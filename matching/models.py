"""Arrives with a later issue."""
