"""Data for reports: run parameters, queries over files and databases, the figures they give."""
