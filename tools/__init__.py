"""Development tools of the repository (generators, audits); not installed."""
