"""HUD HMIS CSV FY2026 exports and scripted imports (DOMAIN 11).

``archive`` (reading zips safely) < ``check`` (the structural validator in Python);
``report`` < ``validate`` (staging and validation in PostgreSQL) < ``load`` (the set-based
load into the CAS model) < ``imports``; ``runtime`` (what the jobs need, their progress);
``exports`` (the exporter); ``housekeeping``; ``policy`` (who may do what); ``keys`` (ids of
imported records).
"""
