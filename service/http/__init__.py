"""The aiohttp application: thin handlers over the services."""
