"""Answering a question: the path from question to cited answer (see `pipeline`)."""
