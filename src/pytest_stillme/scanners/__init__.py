"""Sources of findings that know nothing of pytest: each turns some tool's output into :class:`Finding` objects."""
