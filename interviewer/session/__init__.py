"""Interview sessions: the answer loop that practice and mock interviews share."""
