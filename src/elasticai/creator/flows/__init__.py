"""Flows from a design to hardware tools (vendor projects)."""
