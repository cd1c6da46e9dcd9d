"""The process group's lifetime under torchrun: `cnnref.distributed` (the two-process run itself is in
test_train.py)."""

from __future__ import annotations

import pytest
import torch.distributed as tdist

from cnnref.distributed import Processes, launched, process_group


@pytest.mark.parametrize("environ, expected", [
    ({}, Processes()),
    ({"RANK": "3"}, Processes()),                                  # RANK alone is not torchrun
    ({"WORLD_SIZE": "1", "RANK": "0"}, Processes()),
    ({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}, Processes(3, 4, 1)),
])
def test_launched_reads_torchruns_variables(environ, expected):
    assert launched(environ) == expected


@pytest.mark.parametrize("environ, needle", [
    ({"WORLD_SIZE": "two", "RANK": "0"}, "WORLD_SIZE must be a whole number, got 'two'"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2, LOCAL_RANK=0 do not fit WORLD_SIZE=2"),
    ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "-1"}, "do not fit"),
])
def test_launched_refuses_nonsense(environ, needle):
    with pytest.raises(ValueError, match=needle):
        launched(environ)


def test_a_group_the_caller_made_is_left_to_the_caller(tmp_path, monkeypatch):
    tdist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun says; the group exists already
        monkeypatch.setenv("RANK", "0")
        with process_group("cpu") as (processes, device):
            assert processes == Processes(0, 2, 0) and device.type == "cpu"
        assert tdist.is_initialized()
        with pytest.raises(RuntimeError, match="boom"), process_group("cpu"):
            raise RuntimeError("boom")
        assert tdist.is_initialized()
    finally:
        tdist.destroy_process_group()
