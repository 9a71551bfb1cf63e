"""The web page: static HTML, CSS and ES modules served by the service, on the public API only."""
