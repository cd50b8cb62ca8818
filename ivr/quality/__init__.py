"""Quality: recordings, the daily audit sample, scorecards, reviews and the monthly quality report."""
