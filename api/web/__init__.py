"""The web dashboard under ``/app``: server-rendered pages for stores, the operator and buyers."""
