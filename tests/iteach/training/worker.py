"""Train one run in a child process, as torchrun or a user would start it.

argv: JSON config overrides, run folder, and optionally KILL_AFTER: SIGKILL this process right
after global step KILL_AFTER (and its checkpoint), to test resuming a killed run. Under RANK /
WORLD_SIZE / MASTER_ADDR / MASTER_PORT it is one rank of a gloo group; rank 0 alone writes.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import torch

from iteach_app.config import resolve
from iteach_app.training import distributed
from iteach_app.training.loop import TrainState
from iteach_app.training.trainer import Trainer


def main() -> None:
    torch.set_num_threads(1)
    config = resolve(overrides=json.loads(sys.argv[1]), source="worker")
    kill_after = int(sys.argv[3]) if len(sys.argv) > 3 else 0

    def on_step(state: TrainState) -> None:
        if state.global_step == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    info = distributed.detect()
    distributed.init(info, torch.device("cpu"))
    try:
        Trainer(config, sys.argv[2], dist_info=info, verbose=False, on_step=on_step).fit()
    finally:
        distributed.shutdown(info)


if __name__ == "__main__":
    main()
