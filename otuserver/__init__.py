"""OTUServer: an HTTP/1.1 server written from raw sockets, with a tiny web framework on top.

Packages, in the order the dependencies point:
    http    the sans-IO protocol (bytes in, requests out; responses to bytes); imports nothing of ours
    server  all the I/O: epoll loop, connections, static files, workers and the pre-fork master
    web     the tiny framework (routing, views, pagination); knows no socket
    db      the SQLite engine and the Model base class
    bench   the load-test harness behind reports/
"""

__version__ = "0.1.0"
SERVER_NAME = "OTUServer/" + __version__
