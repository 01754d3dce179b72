"""Agreement between a grader and human scores: reading scored files, metrics, calibration,
cluster-bootstrap intervals and reports (the `interviewer eval` command)."""
