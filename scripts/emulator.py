"""moto_server, made faithful where the receiver's correctness depends on it.

Started by scripts/emulator.ts with moto_server's own arguments.
"""
import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main


def exit_when_parent_dies():
    # stdin is a pipe from the Node process: it closes however that process ends (even
    # SIGKILL), so no moto is left orphaned. os.read, because a daemon thread blocked in
    # sys.stdin's buffered read aborts Python's shutdown.
    while os.read(0, 4096):
        pass
    os._exit(0)


# DynamoDB applies each conditional write atomically. moto serves requests on many threads
# without a lock, so two concurrent writes guarded by the same version could both succeed,
# which real DynamoDB never allows. Serialising DynamoDB calls restores that guarantee; other
# services (SQS long polls above all) stay concurrent.
_dynamodb = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _atomic_dynamodb(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _dynamodb:
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _atomic_dynamodb

if __name__ == "__main__":
    threading.Thread(target=exit_when_parent_dies, daemon=True).start()
    main(sys.argv[1:])
