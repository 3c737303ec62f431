"""File extension -> Content-Type: our own table, not the `mimetypes` module.

`mimetypes` reads /etc/mime.types, so its answers differ from machine to machine;
a server's headers should not. The http-test-suite checks the first eight exactly.
"""

import os

DEFAULT_TYPE = "application/octet-stream"

MEDIA_TYPES: dict[str, str] = {
    # Checked by the http-test-suite, byte for byte.
    ".html": "text/html",
    ".css": "text/css",
    ".js": "application/javascript",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".swf": "application/x-shockwave-flash",
    # The other common web types.
    ".htm": "text/html",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".xml": "application/xml",
    ".json": "application/json",
    ".mjs": "application/javascript",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".bmp": "image/bmp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ipynb": "application/x-ipynb+json",
}


def media_type(path: str) -> str:
    """The Content-Type for a file name, by its last extension, case-insensitively.

    >>> media_type("text..txt"), media_type("LOGO.V2.PNG"), media_type("README")
    ('text/plain', 'image/png', 'application/octet-stream')
    """
    return MEDIA_TYPES.get(os.path.splitext(path)[1].lower(), DEFAULT_TYPE)
