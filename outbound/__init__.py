"""Outbound HTTP to addresses given by users: checked hosts, limited size, time and hops."""
