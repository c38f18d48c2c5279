"""The stance engine: article text and a watchlist's claims in, findings and assessments out.

Pure by design: no network, no database, no clock, no settings read from the environment. The
daemon (`monitor`) feeds it text and stores what it says; the models it reads ship inside it.
"""
