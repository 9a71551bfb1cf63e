"""Video Refresher: refreshed ad-video variations, with an event-sourced job lifecycle."""
