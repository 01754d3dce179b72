"""Batch grading: input readers, the run, results and resume, costs, reports."""
