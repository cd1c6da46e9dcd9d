import pytest
import torch

from cnnref.threads import torch_threads


def test_restores_the_thread_count_when_the_block_raises():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_refuses_a_count_that_is_not_a_positive_int(n):
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="torch_threads: n must be a positive int"):
        with torch_threads(n):
            pass
    assert torch.get_num_threads() == before
