"""Every event a function receives, as a pydantic model parsed with Powertools Parser.

One module per trigger kind: `schedules` (EventBridge rule and EventBridge Scheduler), `bus` (events on
LoanEventsBus), `streams` (DynamoDB stream records) and `queues` (SQS records). Each model subclasses
the Powertools model of its shape and types the part that is ours (an event's `detail`, a record's
image or body); its `unwrap()` gives what the function's use case takes. `arrears.handlers.lambda_events`
parses events and batches with them and logs what does not parse.

Every model hides the input in its validation errors: an error names the field and the problem, never
the value (a value may be personal data, and errors reach the logs and the failure queues).
"""
