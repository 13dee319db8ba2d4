"""`make api`: the borrower and staff API on http://127.0.0.1:<port>, kept running over a demo book.

Deploys the stack into moto, loads a small book and runs a few simulated days (so loans are past due and
some contacts were made), then prints tokens minted by the local issuer (a few borrowers, one per staff
role) and `curl` examples, and serves until Ctrl-C. The simulated clock stays at the end of the run:
tokens are checked against it (they are valid for 12 simulated hours).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta

TOKEN_TTL = timedelta(hours=12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-api", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default: 8080)")
    parser.add_argument("--loans", type=int, default=40, help="loans in the book (default: 40)")
    parser.add_argument("--days", type=int, default=10, help="simulated days before serving (default: 10)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1), help="first day (ISO)")
    args = parser.parse_args(argv)
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        os.environ[name] = value  # it only ever talks to moto

    from moto import mock_aws

    from localcloud.simulation import Simulation

    with open(os.devnull, "w") as log, mock_aws():
        sim = Simulation(loans=args.loans, seed=args.seed, start=args.start, log=log, api_port=args.port)
        sim.load_book()
        sim.run(args.days)
        api, issuer = sim.http_api, sim.http_api.issuer
        behind = [e for e in sim.book if e.behaviour.value != "ON_TIME"][:3]
        print(
            f"Arrears API on {api.url} (Swagger UI: {api.url}/docs), "
            f"simulated time {sim.cloud.clock:%Y-%m-%d %H:%M}Z"
        )
        for entry in behind:
            token = issuer.mint(
                f"user-{entry.borrower.borrower_id}", borrower_id=entry.borrower.borrower_id, ttl=TOKEN_TTL
            )
            print(
                f"\nborrower {entry.borrower.borrower_id} (loan {entry.loan.loan_id}):\n"
                f"  export TOKEN={token}"
            )
        for role in ("agent", "field", "supervisor", "compliance"):
            token = issuer.mint(f"staff-{role}", groups=[role], ttl=TOKEN_TTL)
            print(f"\n{role}:\n  export STAFF_TOKEN={token}")
        print(
            f'\ncurl -s -H "Authorization: Bearer $TOKEN" {api.url}/me/loans\n'
            f"curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Idempotency-Key: my-first-promise' "
            f'-H \'Content-Type: application/json\' -d \'{{"pay_on": "...", "amount_minor": 1000}}\' '
            f"{api.url}/me/loans/<loan_id>/promises\n\nCtrl-C stops it."
        )
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
