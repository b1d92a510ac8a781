"""Runs scim2-tester's check_server() against a SCIM base URL; exits 1 on any check that is
not a success (DEVIATION, ERROR and CRITICAL count as failures; SKIPPED does not).

usage: scim2_tester_check.py BASE_URL TOKEN
"""

import sys
from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server

PASSING = {"SUCCESS", "COMPLIANT", "ACCEPTABLE", "SKIPPED"}


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http))
    failures = [r for r in results if r.status.name not in PASSING]
    for r in failures:
        reason = (r.reason or "").splitlines()[0] if r.reason else ""
        print(f"  FAIL {r.resource_type or '-'} {r.title}: {reason}")
    counts = Counter(r.status.name for r in results)
    print(f"  scim2-tester: {len(results)} checks, {dict(sorted(counts.items()))}")
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
