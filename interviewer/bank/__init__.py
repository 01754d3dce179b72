"""Question banks: the question model, loading, selection and the bank index."""
