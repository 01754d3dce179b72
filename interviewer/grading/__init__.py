"""Grading an answer: the grade model, the LLM and offline graders, prompts, tokens."""
