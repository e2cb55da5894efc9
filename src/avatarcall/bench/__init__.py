"""Benchmarks that print figures. They assert nothing about time."""
