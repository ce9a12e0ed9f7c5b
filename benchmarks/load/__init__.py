"""Under load: requests/s, the Python cost of a request, the soak, and Granian's and the
workers' tuning, each run stand-alone or by ``run.py``."""
