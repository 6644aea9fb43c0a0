"""Reports: learning-curve and generalisation plots, attention figures, RESULTS.md."""
