"""moto_server, made faithful where the receiver's correctness depends on it.

Started by scripts/emulator.ts with moto_server's own arguments.
"""
import os
import sys
import threading

from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.secretsmanager.models import SecretsManagerBackend
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
# services (SQS long polls above all) stay concurrent. Secrets Manager likewise, for the
# conditional label move `connect` writes with (cli/secret-store.ts).
_serialised = {"DynamoDB_": threading.Lock(), "secretsmanager.": threading.Lock()}
_dispatch = DomainDispatcherApplication.__call__


def _atomic_calls(self, environ, start_response):
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    for prefix, lock in _serialised.items():
        if target.startswith(prefix):
            with lock:
                return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _atomic_calls

# In Secrets Manager, GetSecretValue without a version returns whichever version holds
# AWSCURRENT. moto returns a remembered default version instead, which UpdateSecretVersionStage
# does not move: after `connect` promotes a version, the receiver would keep reading the old one.
_update_stage = SecretsManagerBackend.update_secret_version_stage


def _update_stage_moving_current(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
    result = _update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    if version_stage == "AWSCURRENT" and move_to_version_id:
        self.secrets[secret_id].default_version_id = move_to_version_id
    return result


SecretsManagerBackend.update_secret_version_stage = _update_stage_moving_current

# moto keeps every shard iterator it ever handed out (about 2.5 KB each), and the relay's local
# poller asks for a new one four times a second: tens of MB an hour in a long `npm start`. Only the
# newest few are kept (a reader uses each once, then its successor; AWS expires them after 15 min).
_get_records = DynamoDBStreamsBackend.get_records
_KEPT_ITERATORS = 1000


def _get_records_forgetting_old_iterators(self, iterator_arn, limit):
    result = _get_records(self, iterator_arn, limit)
    while len(self.shard_iterators) > _KEPT_ITERATORS:
        del self.shard_iterators[next(iter(self.shard_iterators))]
    return result


DynamoDBStreamsBackend.get_records = _get_records_forgetting_old_iterators

if __name__ == "__main__":
    threading.Thread(target=exit_when_parent_dies, daemon=True).start()
    main(sys.argv[1:])
