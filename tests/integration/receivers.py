"""Real notice receivers for blwatch integration tests, on 127.0.0.1 only.

    from receivers import HttpReceiver, SmtpReceiver, make_self_signed_cert

    with HttpReceiver() as hook:            # threaded http.server, free port
        hook.url("/hook")                   # http://127.0.0.1:PORT/hook
        hook.fail_next(2)                   # the next 2 requests get HTTP 500
        hook.fail_next(1, 503, "/x")        # the next request to /x gets 503
        hook.stall_next(1, "/x")            # the next request to /x is read and held,
        hook.stalled()                      #   unanswered (how many are held now),
        hook.release()                      #   until this closes it without an answer
        hook.stop(); hook.start()           # down (connection refused), up again, same port
        hook.requests("/hook")              # [Request(method, path, headers, body, time)]

    cert, key = make_self_signed_cert(tmpdir)        # openssl CLI, CN/SAN 127.0.0.1
    with SmtpReceiver() as mx:                       # plain ESMTP (aiosmtpd)
    with SmtpReceiver(users={"u": "pw"}, auth_mechanisms=["LOGIN"])   # AUTH required
    with SmtpReceiver(tls=(cert, key), require_starttls=True,
                      users={"u": "pw"})             # STARTTLS, AUTH only after TLS
        mx.messages     # [Message(mail_from, rcpt_tos, data bytes, tls, user, time)]
        mx.mails        # every MAIL FROM seen (also of transactions without DATA)
        mx.auths        # [(mechanism, login, success, tls)]

Every server stops in stop() (also called by the context manager and at
interpreter exit).  Needs /usr/bin/python3 with Debian's python3-aiosmtpd.
"""

import errno
import http.server
import logging
import os
import socket
import ssl
import subprocess
import threading
import time

from lifetime import LIVE as _LIVE  # noqa: E402  (stopped at exit)


def free_tcp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def closed_tcp_port():
    """A TCP port on 127.0.0.1 where nothing listens (connection refused)."""
    return free_tcp_port()


def make_self_signed_cert(directory, cn="127.0.0.1"):
    """A self-signed certificate for 127.0.0.1 (CN and IP SAN) and its key,
    written into `directory` with the openssl CLI.  Returns (cert, key)."""
    cert = os.path.join(directory, "smtp-cert.pem")
    key = os.path.join(directory, "smtp-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=%s" % cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return cert, key


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.header_list = headers          # [(name, value)] as received
        self.headers = {}                   # lower-case name -> last value
        for k, v in headers:
            self.headers[k.lower()] = v
        self.body = body                    # bytes
        self.time = time.time()
        self.status = None                  # what the receiver answered

    def header_values(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def __repr__(self):
        return "Request(%s %s, %d bytes)" % (self.method, self.path, len(self.body))


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # answers Expect: 100-continue at once

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.server.owner._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.owner._conn_closed(self.connection)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _any(self):
        body = self._read_body()
        owner = self.server.owner
        status = owner._record(Request(self.command, self.path, list(self.headers.items()), body))
        if status == STALL:
            # A receiver that took the request and hangs: no status line,
            # no headers; released, the connection closes unanswered.
            owner._hold()
            self.close_connection = True
            return
        reply = b'{"ok":true}' if status < 300 else b'{"error":"test receiver says no"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)
        self.close_connection = True

    do_POST = do_PUT = do_GET = _any


STALL = "stall"   # fail_next status of a request held unanswered


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 that records every request.
    fail_next(n, status) answers the next n requests with `status`;
    stop() closes the listening socket and every open connection (clients
    then get connection refused); start() listens again on the same port."""

    def __init__(self, port=None):
        self.port = port
        self._reqs = []
        self._fail = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._held = 0
        self._conns = set()
        self._srv = None
        self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self):
        if self._srv is not None:
            return self
        last = None
        for _ in range(50):
            try:
                srv = _Server(("127.0.0.1", self.port or 0), _HttpHandler)
                break
            except OSError as e:   # same port, lingering close: try again
                last = e
                if self.port is None or e.errno != errno.EADDRINUSE:
                    raise
                time.sleep(0.1)
        else:
            raise last
        srv.owner = self
        self._srv = srv
        self.port = srv.server_address[1]
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        _LIVE.add(self)
        return self

    def stop(self):
        self._release.set()
        srv, self._srv = self._srv, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()
            self._thread.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        _LIVE.discard(self)

    @property
    def running(self):
        return self._srv is not None

    def fail_next(self, n, status=500, path=None):
        """Answer the next n requests (to `path`, or to any path) with status."""
        with self._lock:
            self._fail += [(path, status)] * n

    def stall_next(self, n, path=None):
        """Hold the next n requests (to `path`, or any): read, recorded (with
        status "stall") and never answered until release() or stop()."""
        with self._lock:
            self._release.clear()
            self._fail += [(path, STALL)] * n

    def stalled(self):
        """How many requests are held unanswered now."""
        with self._lock:
            return self._held

    def release(self):
        """Closes every held request's connection without an answer."""
        self._release.set()

    def requests(self, path=None):
        with self._lock:
            return [r for r in self._reqs if path is None or r.path == path]

    def clear(self):
        with self._lock:
            self._reqs = []

    def wait_for(self, count, path=None, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests(path)) >= count:
                return True
            time.sleep(0.05)
        return len(self.requests(path)) >= count

    # -- called by the handler threads --
    def _record(self, req):
        with self._lock:
            self._reqs.append(req)
            req.status = 200
            for i, (path, status) in enumerate(self._fail):
                if path is None or path == req.path:
                    req.status = status
                    del self._fail[i]
                    break
            return req.status

    def _hold(self):
        with self._lock:
            self._held += 1
        try:
            self._release.wait(timeout=120)
        finally:
            with self._lock:
                self._held -= 1

    def _conn_opened(self, c):
        with self._lock:
            self._conns.add(c)

    def _conn_closed(self, c):
        with self._lock:
            self._conns.discard(c)


# --------------------------------------------------------------------------
# SMTP (aiosmtpd)
# --------------------------------------------------------------------------

class Message:
    def __init__(self, mail_from, rcpt_tos, data, tls, user, peer):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data            # bytes, as received after DATA (dot-unstuffed)
        self.tls = tls              # True when the session was TLS at DATA time
        self.user = user            # authenticated login, or None
        self.peer = peer
        self.time = time.time()

    def __repr__(self):
        return "Message(from=%r, to=%r, %d bytes, tls=%s, user=%r)" % (
            self.mail_from, self.rcpt_tos, len(self.data), self.tls, self.user)


class _SmtpHandler:
    def __init__(self, owner):
        self.owner = owner

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.owner._lock:
            self.owner.mails.append((address, session.ssl is not None or
                                     server.transport.get_extra_info("sslcontext") is not None))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content if envelope.original_content is not None \
            else envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        user = None
        if session.authenticated and session.auth_data is not None:
            user = session.auth_data
        tls = session.ssl is not None or \
            server.transport.get_extra_info("sslcontext") is not None
        msg = Message(envelope.mail_from, envelope.rcpt_tos, data, tls, user, session.peer)
        with self.owner._lock:
            self.owner.messages.append(msg)
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1:<free port>.

    users:            {login: password}; when given, AUTH is required before MAIL.
    auth_mechanisms:  the AUTH mechanisms offered (subset of LOGIN, PLAIN).
    tls:              (cert, key): offer STARTTLS with that certificate.
    require_starttls: refuse everything but EHLO/STARTTLS/QUIT before TLS.
    auth_require_tls: AUTH only after STARTTLS (default: when tls is given).
    implicit_tls:     TLS from the first byte (smtps) instead of STARTTLS.
    """

    def __init__(self, users=None, auth_mechanisms=("LOGIN", "PLAIN"), tls=None,
                 require_starttls=False, auth_require_tls=None, implicit_tls=False):
        self.users = dict(users or {})
        self.auth_mechanisms = list(auth_mechanisms)
        self.tls = tls
        self.require_starttls = require_starttls
        self.auth_require_tls = bool(tls) if auth_require_tls is None else auth_require_tls
        self.implicit_tls = implicit_tls
        self.messages = []
        self.mails = []
        self.auths = []
        self._lock = threading.Lock()
        self._ctl = None
        self.port = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def url(self):
        return "%s://127.0.0.1:%d" % ("smtps" if self.implicit_tls else "smtp", self.port)

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword
        ok = False
        login = None
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            pw = auth_data.password.decode("utf-8", "replace")
            ok = login in self.users and self.users[login] == pw
        with self._lock:
            self.auths.append((mechanism, login, ok, session.ssl is not None or
                               server.transport.get_extra_info("sslcontext") is not None))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def start(self):
        import warnings
        from aiosmtpd.controller import Controller
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        logging.getLogger("mail.log").propagate = False
        kw = dict(hostname="127.0.0.1", server_hostname="mx.receiver.test",
                  ready_timeout=10.0, decode_data=False, enable_SMTPUTF8=False)
        ctx = None
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
        if self.implicit_tls:
            kw["ssl_context"] = ctx
        elif ctx is not None:
            kw["tls_context"] = ctx
            kw["require_starttls"] = self.require_starttls
        if self.users:
            all_mech = {"LOGIN", "PLAIN"}
            kw["authenticator"] = self._authenticator
            kw["auth_required"] = True
            kw["auth_require_tls"] = self.auth_require_tls
            kw["auth_exclude_mechanism"] = sorted(all_mech - set(self.auth_mechanisms))
        else:
            kw["auth_require_tls"] = False
        last = None
        for _ in range(5):
            port = free_tcp_port()
            ctl = Controller(_SmtpHandler(self), port=port, **kw)
            try:
                ctl.start()
            except Exception as e:   # port taken meanwhile: another one
                last = e
                try:
                    ctl.stop(no_assert=True)
                except Exception:
                    pass
                continue
            self._ctl, self.port = ctl, port
            _LIVE.add(self)
            return self
        raise RuntimeError("cannot start the SMTP receiver: %s" % last)

    def stop(self):
        ctl, self._ctl = self._ctl, None
        if ctl is not None:
            try:
                ctl.stop()
            except Exception:
                pass
        _LIVE.discard(self)

    def wait_for(self, count, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return True
            time.sleep(0.05)
        return len(self.messages) >= count

    def clear(self):
        with self._lock:
            self.messages, self.mails, self.auths = [], [], []


def _try_post(url):
    import http.client
    import urllib.request
    try:
        return urllib.request.urlopen(url, data=b"{}", timeout=10).status
    except (http.client.RemoteDisconnected, ConnectionError):
        return "no answer"


if __name__ == "__main__":
    # Self-test: one request, one mail over each SMTP flavour.
    import smtplib
    import tempfile
    import urllib.request
    with HttpReceiver() as h:
        h.fail_next(1)
        for want in (500, 200):
            try:
                code = urllib.request.urlopen(urllib.request.Request(
                    h.url("/x"), data=b"{}", method="POST")).status
            except urllib.error.HTTPError as e:
                code = e.code
            assert code == want, (code, want)
        port = h.port
        h.stop()
        try:
            urllib.request.urlopen(h.url("/x"), data=b"{}", timeout=2)
            raise AssertionError("still up")
        except urllib.error.URLError:
            pass
        h.start()
        assert h.port == port
        urllib.request.urlopen(h.url("/x"), data=b"{}", timeout=2)
        assert len(h.requests("/x")) == 3
        h.stall_next(1, "/s")
        got = []
        t = threading.Thread(target=lambda: got.append(_try_post(h.url("/s"))))
        t.start()
        for _ in range(100):
            if h.stalled():
                break
            time.sleep(0.02)
        assert h.stalled() == 1 and not got, (h.stalled(), got)
        h.release()
        t.join(timeout=5)
        assert got and got[0] == "no answer", got
    d = tempfile.mkdtemp()
    cert, key = make_self_signed_cert(d)
    with SmtpReceiver() as m:
        with smtplib.SMTP("127.0.0.1", m.port) as c:
            c.sendmail("a@x.test", ["b@x.test", "c@x.test"], b"Subject: t\r\n\r\nhi\r\n")
        assert m.messages[0].rcpt_tos == ["b@x.test", "c@x.test"], m.messages
    with SmtpReceiver(users={"u": "p"}, auth_mechanisms=["LOGIN"], auth_require_tls=False) as m:
        with smtplib.SMTP("127.0.0.1", m.port) as c:
            c.login("u", "p")
            c.sendmail("a@x.test", ["b@x.test"], b"Subject: t\r\n\r\nhi\r\n")
        assert m.messages[0].user == "u", m.messages
    with SmtpReceiver(users={"u": "p"}, tls=(cert, key), require_starttls=True) as m:
        with smtplib.SMTP("127.0.0.1", m.port) as c:
            c.starttls(context=ssl.create_default_context(cafile=cert))
            c.login("u", "p")
            c.sendmail("a@x.test", ["b@x.test"], b"Subject: t\r\n\r\nhi\r\n")
        assert m.messages[0].tls and m.messages[0].user == "u", m.messages
    with SmtpReceiver(tls=(cert, key), implicit_tls=True) as m:
        with smtplib.SMTP_SSL("127.0.0.1", m.port,
                              context=ssl.create_default_context(cafile=cert)) as c:
            c.sendmail("a@x.test", ["b@x.test"], b"Subject: t\r\n\r\nhi\r\n")
        assert m.messages[0].tls, m.messages
    import shutil
    shutil.rmtree(d)
    print("receivers self-test ok")
