"""Step 7 of the pipeline: reports. Each module renders results to a string; none prints."""
