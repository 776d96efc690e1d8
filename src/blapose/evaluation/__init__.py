"""Evaluation: the adjustment of predictions from files to a report (``adjust``), action-wise
reports and their printing and files (``report``), and the prediction of datasets (``predict``)."""
