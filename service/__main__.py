"""`python -m service` is the same as the `video-refresher` console script."""

from service.cli import main

raise SystemExit(main())
