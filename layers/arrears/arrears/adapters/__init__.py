"""Every boto3 call lives in this package."""
