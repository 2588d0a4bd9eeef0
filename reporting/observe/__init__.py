"""What a build leaves to look at: the manifest, statistics and the dashboard."""
