"""All of OTUServer's I/O: the epoll loop, connections, static files, workers and the master.

It drives the sans-IO `otuserver.http` layer with bytes from sockets and serves
any application of the form `app(request) -> Response` (with an optional
`error_response(error, target)` hook for protocol errors); it never imports the
framework (`otuserver.web`), which httpd.py wires in from outside.
"""
