"""Facts: what each figure of a report measures, for whom, when, and whether it is a result or
a target; read the same way from reports at ingest and from questions at answer time."""
