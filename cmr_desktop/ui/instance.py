"""One window per home: a second start for the same home brings the first window forward.

The first process listens on a local socket (a Unix socket, a named pipe on Windows) whose
name comes from a hash of the resolved home folder, so two homes can be open at once. A
second process connects, asks the first to show itself, and exits. A socket left behind by
a process that crashed answers nobody: it is removed and the new process takes the name.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

RAISE = b"raise\n"
ACK = b"ok\n"


def server_name(home: Path) -> str:
    """The local socket's name for ``home`` (per user: the hash includes the user id)."""
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{user}\0{home.resolve()}".encode()).hexdigest()[:24]
    return f"cmr-desktop-{digest}"


class SingleInstance(QObject):
    """Claims a home for this process, or hands over to the process that has it.

    Signals:
        activated(): another start asked for this home; bring the window forward.
    """

    activated = Signal()

    def __init__(self, home: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.name = server_name(home)
        self.server: QLocalServer | None = None

    def acquire(self, timeout_ms: int = 2000) -> bool:
        """True: this process now owns the home. False: another process has it open and
        was asked to bring its window forward."""
        for _ in range(3):
            if self.forward(timeout_ms):
                return False
            if self._listen():
                return True
        # Nobody answers and the name cannot be taken: better two windows than none.
        return True

    def forward(self, timeout_ms: int = 2000) -> bool:
        """Ask the process that owns the home to show its window; False if there is none."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(RAISE)
        socket.waitForBytesWritten(timeout_ms)
        # The answer only confirms; a server that accepted the connection is alive.
        if socket.bytesAvailable() == 0:
            socket.waitForReadyRead(timeout_ms)
        socket.disconnectFromServer()
        return True

    def _listen(self) -> bool:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            if server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
                return False
            # In use: either alive (then it answers) or left by a crashed process.
            if self.forward(500):
                server.deleteLater()
                return False
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                server.deleteLater()
                return False
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(self._on_ready)
            if socket.canReadLine():
                self._answer(socket)

    def _on_ready(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket) and socket.canReadLine():
            self._answer(socket)

    def _answer(self, socket: QLocalSocket) -> None:
        message = bytes(socket.readLine().data())
        socket.readyRead.disconnect(self._on_ready)
        if message == RAISE:
            socket.write(ACK)
            socket.flush()
            self.activated.emit()
        socket.disconnectFromServer()
        socket.deleteLater()

    def release(self) -> None:
        """Stop answering (the app is quitting)."""
        if self.server is not None:
            self.server.close()
            self.server.deleteLater()
            self.server = None
