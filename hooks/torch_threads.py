"""Run the pages' torch code on one intra-op thread.

The pages train and evaluate small networks (LeNet-5 on 8x8 digits, MLPs on MNIST-1D): a second
thread gains a few percent on an idle 2-core machine, but when the cores are busy (the test
suite's browser and server, another build) OpenMP's spinning threads wait for each other and a
fine-tuning block measured 148 s instead of 19 s. Pages that time something set their threads
themselves (`cnnref.timing.threads`), so this changes no measurement.
"""


def on_config(config):
    import torch  # the pages' code blocks import it in this process anyway

    torch.set_num_threads(1)
    return config
