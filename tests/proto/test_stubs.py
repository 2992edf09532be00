"""The committed Python stubs must be exactly what the .proto generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2

from foley_proto.v1 import engine_pb2

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
PROTO = PROTO_ROOT / "foley_proto" / "v1" / "engine.proto"
GENERATED = ("engine_pb2.py", "engine_pb2.pyi", "engine_pb2_grpc.py")


def _generate(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_ROOT}", f"--python_out={out}",
         f"--pyi_out={out}", f"--grpc_python_out={out}", str(PROTO)],
        check=True,
    )
    return out / "foley_proto" / "v1"


def test_committed_stubs_match_the_proto(tmp_path: Path) -> None:
    fresh = _generate(tmp_path)
    for name in GENERATED:
        committed = (PROTO.parent / name).read_text()
        assert (fresh / name).read_text() == committed, f"{name} is stale: run `make proto` and commit the result"


def test_the_stubs_in_use_describe_the_proto(tmp_path: Path) -> None:
    descriptor_set = tmp_path / "engine.pb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_ROOT}", f"--descriptor_set_out={descriptor_set}", str(PROTO)],
        check=True,
    )
    expected = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file[0]
    _drop_json_names(expected)  # protoc adds them to descriptor sets, not to embedded descriptors
    in_use = descriptor_pb2.FileDescriptorProto.FromString(engine_pb2.DESCRIPTOR.serialized_pb)
    assert in_use == expected
    assert expected.package == "foley.v1"


def _drop_json_names(file: descriptor_pb2.FileDescriptorProto) -> None:
    pending = list(file.message_type)
    while pending:
        message = pending.pop()
        pending.extend(message.nested_type)
        for field in message.field:
            field.ClearField("json_name")
