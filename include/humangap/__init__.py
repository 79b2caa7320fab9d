"""humangap: per-class gap between a classifier and its human annotators.

The package has no Airflow import. The DAGs in ``dags/`` call it, and so does the
command line (``python -m humangap``).
"""

__version__ = "0.1.0"
