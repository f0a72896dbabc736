"""A stand-in for the server's client-version API (``/api/v1/client/version``), for the filler's
update check: a local HTTP server answering every GET with ``body`` (JSON unless bytes) and
``status``. Both can be changed between requests; the paths asked for are kept in ``paths``."""
import http.server
import json
import threading


class VersionServer:
    def __init__(self, body, status=200):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.paths.append(self.path)
                data = outer.body if isinstance(outer.body, bytes) else json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.body, self.status, self.paths = body, status, []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
