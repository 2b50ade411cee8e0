# A stand-in for CrowdSec's local API (LAPI): the decisions stream the bouncer polls, with one
# IPv4 and one IPv6 ban, as CrowdSec's /v1/decisions/stream answers on startup.
import http.server, json
BANS = {"new": [
    {"duration": "3h59m", "id": 1, "origin": "crowdsec", "scenario": "crowdsecurity/ssh-bf", "scope": "Ip", "type": "ban", "value": "198.51.100.3"},
    {"duration": "3h59m", "id": 2, "origin": "crowdsec", "scenario": "crowdsecurity/ssh-bf", "scope": "Ip", "type": "ban", "value": "2001:db8:1::3"},
], "deleted": []}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(BANS if "startup=true" in self.path else {"new": [], "deleted": []}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
