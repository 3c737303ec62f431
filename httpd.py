#!/usr/bin/env python3
"""OTUServer's entry point: read the command line, build the application, run the master.

    python3 httpd.py                      # docroot/ on http://127.0.0.1:8080, one worker per CPU
    python3 httpd.py -w 4 -r /srv/www -p 0
    python3 httpd.py start|stop|restart|status [options]   # as a daemon with a pid file

It wires otuserver.server (processes, sockets, files) to the two applications,
the scoring API under /api/ and the static files everywhere else, and owns
nothing else. A bad argument is one line on stderr and exit status 2.
"""

import argparse
import json
import logging
import os
import sqlite3
import sys

from api import create_app
from otuserver.db import DatabaseBusy
from otuserver.http import HTTPError, Limits
from otuserver.http.urls import percent_decode, split_target
from otuserver.server import daemon
from otuserver.server.config import ServerConfig
from otuserver.server.master import Master, bind_listener
from otuserver.server.static import StaticFiles
from otuserver.web.errors import error_response as json_error_response

HERE = os.path.dirname(os.path.abspath(__file__))
USAGE_ERROR = 2
MIN_WORKER_TIMEOUT_S = 2.0
API_PREFIX = "/api"
COMMANDS = ("start", "stop", "restart", "status")

# Long option name -> (type, default). The JSON config file uses the same names.
OPTIONS = {
    "host": (str, "127.0.0.1"),
    "port": (int, 8080),
    "workers": (int, os.cpu_count() or 1),
    "root": (str, os.path.join(HERE, "docroot")),
    "access-log": (str, "-"),
    "keepalive-timeout": (float, 15.0),
    "request-timeout": (float, 30.0),
    "send-timeout": (float, 60.0),
    "graceful-timeout": (float, 10.0),
    "timeout": (float, 30.0),
    "max-connections": (int, 10000),
    "max-body": (int, 1 << 20),
    "max-request-line": (int, 8190),
    "max-head": (int, 65536),
    "max-header-fields": (int, 100),
    "db": (str, os.path.join(HERE, "api", "scores.sqlite3")),
    "pidfile": (str, os.path.join(HERE, "httpd.pid")),
    "log-file": (str, os.path.join(HERE, "httpd.log")),
}


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="httpd.py", description="OTUServer: a pre-fork, epoll HTTP/1.1 server.",
                argument_default=argparse.SUPPRESS)
    p.add_argument("command", nargs="?", choices=COMMANDS, default=None,
                   help="run as a daemon (start, stop, restart, status); omit to run in the foreground")
    p.add_argument("-w", "--workers", type=int, help="worker processes (default: one per CPU)")
    p.add_argument("-r", "--root", help="document root (default: docroot/ beside httpd.py)")
    p.add_argument("-p", "--port", type=int, help="TCP port, 0 for any free one (default: 8080)")
    p.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("-c", "--config", "-config", dest="config",
                   help="JSON file whose keys are the long option names")
    p.add_argument("--access-log", help='combined-format log path, "-" for stderr, "off" (default: -)')
    p.add_argument("--keepalive-timeout", type=float, help="seconds an idle connection stays open (15)")
    p.add_argument("--request-timeout", type=float, help="seconds a whole request may take to arrive (30)")
    p.add_argument("--send-timeout", type=float, help="seconds a client may take no bytes before it is dropped (60)")
    p.add_argument("--graceful-timeout", type=float, help="seconds a stop waits for responses in flight (10)")
    p.add_argument("--timeout", type=float, help="seconds before a stuck worker is killed and replaced (30)")
    p.add_argument("--max-connections", type=int, help="open connections per worker (10000)")
    p.add_argument("--max-body", type=int, help="largest request body in bytes, else 413 (1048576)")
    p.add_argument("--max-request-line", type=int, help="longest request line in bytes, else 414 (8190)")
    p.add_argument("--max-head", type=int, help="largest request head in bytes, else 431 (65536)")
    p.add_argument("--max-header-fields", type=int, help="most header fields in a request, else 431 (100)")
    p.add_argument("--db", help="SQLite file of the scoring API (default: api/scores.sqlite3)")
    p.add_argument("--pidfile", help="pid file of the daemon (default: httpd.pid beside httpd.py)")
    p.add_argument("--log-file", help="stdout and stderr of the daemon (default: httpd.log beside httpd.py)")
    return p


def read_settings(argv: list[str]) -> dict:
    """Defaults, then the config file, then the command line: the last one wins."""
    given = vars(build_parser().parse_args(argv))
    settings = {name: default for name, (_, default) in OPTIONS.items()}
    settings["command"] = given.pop("command", None)
    if "config" in given:
        settings["config"] = os.path.abspath(given["config"])
        settings.update(_read_config_file(given.pop("config")))
    settings.update({name.replace("_", "-"): value for name, value in given.items()})
    return settings


def _read_config_file(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as error:
        raise UsageError(f"cannot read config file {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"config file {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a JSON object")
    settings = {}
    for name, value in data.items():
        if name not in OPTIONS:
            raise UsageError(f"config file {path}: unknown option {name!r}")
        kind = OPTIONS[name][0]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            # int() would truncate in silence: {"port": 1.5} listened on port 1.
            raise UsageError(f"config file {path}: {name} must be a whole number")
        if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UsageError(f"config file {path}: {name} must be a number")
        if kind is str and not isinstance(value, str):
            raise UsageError(f"config file {path}: {name} must be a string")
        settings[name] = kind(value)
    return settings


def make_config(settings: dict) -> ServerConfig:
    root = settings["root"]
    if not os.path.isdir(root):
        raise UsageError(f"document root {root} is not a directory")
    if not settings["host"].strip():
        # bind() reads an empty host as every interface: an empty variable in a unit file
        # would put the server on the network unasked. Every interface is asked for by name.
        raise UsageError("--host must not be empty (0.0.0.0 or :: listens on every interface)")
    if settings["workers"] < 1:
        raise UsageError("--workers must be at least 1")
    if not 0 <= settings["port"] <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    if not settings["timeout"] >= MIN_WORKER_TIMEOUT_S:
        # An idle worker's loop turns once a second (worker.TICK_S); a shorter
        # --timeout would kill healthy idle workers.
        raise UsageError(f"--timeout must be at least {MIN_WORKER_TIMEOUT_S:g} seconds")
    for name in ("keepalive-timeout", "request-timeout", "send-timeout", "graceful-timeout", "timeout",
                 "max-connections", "max-body", "max-request-line", "max-head", "max-header-fields"):
        if not settings[name] > 0:  # and not NaN, which is neither > 0 nor <= 0 and never expires
            raise UsageError(f"--{name} must be positive")
    _check_writable(settings["access-log"])
    return ServerConfig(
        host=settings["host"], port=settings["port"], workers=settings["workers"],
        root=root, access_log=settings["access-log"],
        keepalive_timeout=settings["keepalive-timeout"],
        request_timeout=settings["request-timeout"],
        send_timeout=settings["send-timeout"],
        graceful_timeout=settings["graceful-timeout"],
        timeout=settings["timeout"], max_connections=settings["max-connections"],
        log_file=settings["log-file"] if settings.get("daemonized") else None,
        limits=Limits(max_request_line=settings["max-request-line"], max_head_bytes=settings["max-head"],
                      max_header_fields=settings["max-header-fields"], max_body_bytes=settings["max-body"]))


def _check_writable(log_path: str) -> None:
    """Open the access log for append once, here, before any fork (creating it, as a worker would).

    Each worker opens it as it boots, and a worker that cannot boot stops the master: a
    missing folder, a directory or no permission would otherwise exit 1 with a worker's
    traceback, after the fork, instead of as a bad argument. (A later failure, on USR1,
    keeps the file already open: see Worker._reopen_logs.)
    """
    if log_path in ("-", "off"):
        return
    try:
        with open(log_path, "a"):
            pass
    except OSError as error:
        raise UsageError(f"cannot open access log {log_path}: {error.strerror}") from None


def build_app(config: ServerConfig, db_path: str):
    """The application every worker serves: the JSON API under /api/, files everywhere else.

    It carries the connection's optional hook `error_response(error, target)`, so
    that a protocol error on an API target (a 413 body, bad chunked framing) comes
    back as the API's JSON `{"error": ...}` and not as text an API client cannot parse.
    """
    static = StaticFiles(config.root)
    try:
        # create_app opens the database once, here in the master: a folder, a file that is no
        # database or one that cannot be written fails in the terminal, not as a 500 per request.
        api = create_app(db_path, max_body_bytes=config.limits.max_body_bytes)
    except OSError as error:
        raise UsageError(f"cannot use database {db_path}: {error.strerror or error}") from None
    except (sqlite3.Error, DatabaseBusy) as error:
        raise UsageError(f"cannot use database {db_path}: {error}") from None

    api_root = API_PREFIX + "/"
    # Bound once: calling an instance goes through its type's __call__ slot, which
    # costs more per request than calling the bound method itself.
    call_api, call_static = api.__call__, static.__call__

    def app(request):
        path = request.path
        if path == API_PREFIX or path.startswith(api_root):
            return call_api(request)
        return call_static(request)

    def error_response(error: HTTPError, target: str):
        """The API's JSON for an error on one of its targets; None leaves the server's text."""
        path = _target_path(target)
        if path == API_PREFIX or path.startswith(api_root):  # the same split as app()
            return json_error_response(error)
        return None

    app.error_response = error_response
    return app


def _target_path(target: str) -> str:
    """The path of a request-target, percent-decoded as Request decodes it; raw if it cannot be.

    >>> _target_path("/api/scores?page=2"), _target_path("/%61pi/x"), _target_path("/api/%zz")
    ('/api/scores', '/api/x', '/api/%zz')
    """
    path = split_target(target)[0]
    try:
        return percent_decode(path)
    except HTTPError:
        return path  # the undecodable path is itself the error; its raw form still says whose


def serve(argv: list[str], settings: dict) -> int:
    """Run the master in the foreground until it is stopped."""
    config = make_config(settings)
    app = build_app(config, settings["db"])
    try:
        listener = bind_listener(config.host, config.port, config.backlog)
    except OSError as error:
        raise UsageError(f"cannot listen on {settings['host']}:{settings['port']}: {error.strerror}") from None

    def reload():  # SIGHUP: the same command line, the config file read again
        fresh = read_settings(argv)
        fresh["daemonized"] = settings.get("daemonized")
        new_config = make_config(fresh)  # checks the access log too, or every new worker would fail to boot
        return new_config, build_app(new_config, fresh["db"])

    master = Master(listener, app, config, reload=reload)
    host, port = master.address
    shown = f"[{host}]" if ":" in host else host
    pidfile = settings["pidfile"] if settings.get("daemonized") else None
    if pidfile:
        daemon.write_pidfile(pidfile)
    try:
        return master.run(on_ready=lambda: print(f"listening on http://{shown}:{port}", flush=True))
    finally:
        if pidfile:
            daemon.remove_pidfile(pidfile)


def control(command: str, argv: list[str], settings: dict) -> int:
    """start | stop | restart | status, with the pid file and log file of `settings`."""
    pidfile, log_file = os.path.abspath(settings["pidfile"]), os.path.abspath(settings["log-file"])
    if command == "status":
        return daemon.status(pidfile)
    if command in ("stop", "restart"):
        code = daemon.stop(pidfile, settings["graceful-timeout"] + 5)
        if command == "stop" or code != 0:
            return code
    make_config(settings)  # a bad argument fails here, in the terminal, not in the log
    rest = list(argv)
    rest.remove(command)
    server = [sys.executable, os.path.abspath(__file__), *rest, "--daemonized",
              "--pidfile", pidfile, "--log-file", log_file]
    return daemon.start(server, pidfile, log_file)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    daemonized = "--daemonized" in argv  # internal: set by `start` for the background server
    argv = [arg for arg in argv if arg != "--daemonized"]
    try:
        settings = read_settings(argv)
        settings["daemonized"] = daemonized
        if settings["command"]:
            return control(settings["command"], argv, settings)
        return serve(argv, settings)
    except UsageError as error:
        print(f"httpd.py: error: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
