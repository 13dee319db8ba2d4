"""Operator command-line tools: `arrears-ops` (redrive, replay, rerun, history, hold) and
`arrears-audit` (verify the archive, history, erasure). They work against any stack, deployed or local."""
