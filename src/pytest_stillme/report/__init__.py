"""Writers at the edge: SARIF, JUnit, Markdown and the terminal table."""
