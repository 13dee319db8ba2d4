"""Pure collection domain: nothing in this package imports boto3 or talks to AWS."""
