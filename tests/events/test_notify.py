"""The change notifier: coalesced NOTIFYs sent outside append transactions."""

from __future__ import annotations

import asyncio

import asyncpg

from service.events.notify import CHANNEL, ChangeNotifier


async def test_a_signal_owed_at_stop_is_still_sent(database_url: str) -> None:
    # Given a listener on the channel
    listener = await asyncpg.connect(database_url)
    heard = asyncio.Event()
    await listener.add_listener(CHANNEL, lambda *_: heard.set())
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        notifier = ChangeNotifier(pool)
        await notifier.start()
        # When an append rings the notifier just before the process stops
        notifier.notify()
        await notifier.stop()
        # Then the listener hears about it without waiting for a poll
        await asyncio.wait_for(heard.wait(), 5)
    finally:
        await pool.close()
        await listener.close()
