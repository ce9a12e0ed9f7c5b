"""What the registry and the app cost: finding backends, and ``django_prodserver`` installed."""
