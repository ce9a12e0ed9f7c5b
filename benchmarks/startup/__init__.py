"""Start-up: seconds to the first 200, where they go, and the first request after a start."""
