"""What every handler shares: the Lambda-side plumbing around a use case.

`telemetry` (Powertools Logger, Metrics and Tracer, one decorator per handler), `lambda_events` (parse a
record or an event with the models of `arrears.events`, partial batch failures, the failure path with its
log line), `reporting` (the log line, metrics and answer each use case's result gives). Above the use cases:
nothing below imports this package.
"""
