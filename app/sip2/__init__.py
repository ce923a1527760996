"""SIP2 server for self-check kiosks, in four layers: ``codec`` (the wire format), ``session``
(per-connection state), ``dispatch`` (a request to a handler in one unit of work, and its
response) with ``handlers`` (one function per request, calling the same services as the staff
desk through ``ils``, the ILS side of one message), and the runners: ``server`` (TCP and TLS
listeners, started and stopped with the worker process) and ``serial_line`` (RS-232 kiosks)."""
