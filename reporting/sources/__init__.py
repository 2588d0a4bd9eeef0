"""Sources: reading files, searching them, grounding sections, citations."""
