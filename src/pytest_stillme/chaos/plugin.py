"""The pytest side of chaos testing, loaded by ``pytest_stillme.plugin`` (``pytest_plugins``).

Registered as its own plugin module so that ``-p no:stillme`` switches it off
with the rest, while its hooks stay apart from the gate's.
"""
