"""The settings a master and its workers run with, in one place.

httpd.py fills a ServerConfig from the command line and the JSON config file;
everything under otuserver/server reads it and nothing writes it after start.
"""

import os
from dataclasses import dataclass, field

from ..http import Limits


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    root: str = "docroot"
    access_log: str = "-"            # a path, "-" for stderr, or "off"
    keepalive_timeout: float = 15.0  # idle time allowed between requests on one connection
    request_timeout: float = 30.0    # a whole request (head and body) must arrive within this
    send_timeout: float = 60.0       # a reader that takes no bytes for this long is dropped
    graceful_timeout: float = 10.0   # how long a stopping worker may finish in-flight responses
    timeout: float = 30.0            # a worker whose loop has not turned for this long is killed
    max_connections: int = 10000     # per worker; past it, new connections wait in the backlog
    log_file: str | None = None      # where stdout/stderr go when daemonised (reopened on USR1)
    backlog: int = 2048              # listen queue; a small one stalls `ab -c 100` on SYN retries
    limits: Limits = field(default_factory=Limits)
