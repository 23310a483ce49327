"""One OS process of the parallel lockout test (run as ``python -m``).

Usage: ``python -m tests.lockout.parallel_worker DATABASE_URL WEBSITE_ID CONTACT_ID N TAG``.
Connects like an app process (its own :class:`Services`, its own connections), prints
``ready``, waits for a line on stdin, then makes N concurrent wrong-password attempts the
way the identity plugin does (claim through ``portalis_signin_attempt``; only an allowed
attempt is "checked" and reported as failed through ``portalis_signin_result``). Each
attempt comes from its own client address, as in a distributed attack. Prints one JSON
line: ``{"checked": <attempts allowed to check the secret>, "refused": <...>}``.
"""

from __future__ import annotations

import asyncio
import json
import sys

from portalis.core.config import Config
from portalis.core.plugins import call_hook
from portalis.core.services import Services


async def main(url: str, website_id: int, contact_id: int, n: int, tag: int) -> None:
    config = Config(database_url=url, plugins=["selfservice", "identity", "lockout"],
                    secret_key="test-secret-key-not-for-production", policy_ttl=0.0)
    services = Services.build(config)
    await services.start()
    try:
        site = await services.sites.get(website_id)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def one(i: int) -> bool:
            ip = f"10.{tag}.{i // 200}.{i % 200 + 1}"
            refusals = await call_hook(services.pm, "portalis_signin_attempt", site=site,
                                       contact_id=contact_id, kind="password", client_ip=ip,
                                       services=services)
            if refusals:
                return False
            await call_hook(services.pm, "portalis_signin_result", site=site,
                            contact_id=contact_id, kind="password", success=False,
                            client_ip=ip, services=services)
            return True

        outcomes = await asyncio.gather(*(one(i) for i in range(n)))
        print(json.dumps({"checked": sum(outcomes), "refused": n - sum(outcomes)}), flush=True)
    finally:
        await services.stop()


if __name__ == "__main__":
    url, website, contact, count, tag = sys.argv[1:6]
    asyncio.run(main(url, int(website), int(contact), int(count), int(tag)))
