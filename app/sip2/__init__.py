"""SIP2 server for self-check kiosks, in four layers: ``codec`` (the wire format), ``session``
(per-connection state), ``dispatch`` (a request to a service call and a response) and
``server`` (TCP runners, started and stopped with the worker process)."""
